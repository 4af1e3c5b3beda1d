// The CUDA paths against the CPU's: a float64 model's loss and gradients, greedy generation in
// both decoding modes, bfloat16 autocast with activation checkpointing, LibTorch's fused AdamW,
// quantized weights, and a world-size-1 NCCL process group. Each test needs a CUDA device and
// reports itself skipped without one (tests/CMakeLists.txt); scripts/gpu_check.sh runs them.
#include "tests/catch.h"

#include "data/synthetic_batch.h"
#include "test_helpers.h"
#include "train/distributed/launch_env.h"
#include "train/distributed/process_group.h"
#include "train/fused_adamw.h"
#include "trol/compat.h"
#include "trol/generate.h"
#include "trol/quantize.h"

namespace test_cuda {

using namespace trol;

namespace {

const torch::Device kCuda("cuda:0");

// A float64 model with random weights on the CPU and its copy on the GPU.
std::pair<TrolModel, TrolModel> cpu_and_cuda_models(const ModelConfig& config, uint64_t seed) {
  TrolModel cpu(config), gpu(config);
  test::randomize_parameters(*cpu, seed, 0.2);
  test::copy_parameters(*cpu, *gpu);
  cpu->to(torch::kFloat64);
  gpu->to(kCuda, torch::kFloat64);
  return {cpu, gpu};
}

}  // namespace

TEST_CASE("CUDA: a float64 model gives the CPU's loss and gradients", "[cuda]") {
  if (!test::cuda_or_skip()) return;
  const std::string family = GENERATE(std::string("phi3"), std::string("internlm2"));
  INFO(family);
  auto config = test::tiny_config(family);
  config.vision.frozen = false;
  auto [cpu, gpu] = cpu_and_cuda_models(config, 51);
  gpu->model->set_activation_checkpointing(true);  // and the recomputation on the GPU
  SyntheticBatchShape shape;
  shape.batch_size = 2;
  shape.seq_len = config.vision.tokens_per_image() + 10;
  const auto batch = synthetic_batch(config, shape, 52);
  const auto cpu_loss = cpu->forward(to_device(batch, torch::kCPU, torch::kFloat64)).loss.mean;
  const auto gpu_loss = gpu->forward(to_device(batch, kCuda, torch::kFloat64)).loss.mean;
  cpu_loss.backward();
  gpu_loss.backward();
  CHECK(gpu_loss.item<double>() == Approx(cpu_loss.item<double>()).epsilon(1e-12));
  const auto a = test::gradients_on_cpu(*cpu), b = test::gradients_on_cpu(*gpu);
  REQUIRE(a.size() == b.size());
  for (const auto& [name, grad] : a) {
    INFO(name);
    CHECK(test::relative_error(b.at(name), grad) < 1e-10);
  }
}

TEST_CASE("CUDA: greedy generation gives the CPU's tokens in exact and released decoding", "[cuda][generate]") {
  if (!test::cuda_or_skip()) return;
  const auto mode = GENERATE(DecodeMode::exact, DecodeMode::released);
  auto [cpu, gpu] = cpu_and_cuda_models(test::tiny_config("internlm2"), 53);
  const int64_t text_vocab = cpu->config().resolved_image_token_id();
  torch::manual_seed(54);
  std::vector<std::vector<int64_t>> prompts;
  for (int64_t length : {7, 3, 5}) {
    const auto ids = torch::randint(0, text_vocab, {length}, torch::kLong);
    prompts.emplace_back(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + length);
  }
  GenerateOptions options;
  options.max_new_tokens = 8;
  options.decode = mode;
  CHECK(generate_greedy(gpu, prompts, {}, options) == generate_greedy(cpu, prompts, {}, options));
}

TEST_CASE("CUDA: bfloat16 autocast with activation checkpointing gives the plain bfloat16 backward's gradients",
          "[cuda][mixed_precision][checkpointing]") {
  if (!test::cuda_or_skip()) return;
  const auto config = test::tiny_config();
  SyntheticBatchShape shape;
  shape.batch_size = 2;
  shape.seq_len = config.vision.tokens_per_image() + 10;
  const auto batch = to_device(synthetic_batch(config, shape, 55), kCuda, torch::kFloat32);
  auto run = [&](bool recompute) {
    TrolModel model(config);
    test::randomize_parameters(*model, 56, 0.2);
    model->to(kCuda);
    model->model->set_activation_checkpointing(recompute);
    torch::Tensor loss;
    {
      compat::AutocastGuard autocast(torch::kCUDA, torch::kBFloat16);
      loss = model->forward(batch).loss.mean;
    }
    loss.backward();  // after the guard, as in a training step
    return test::gradients_on_cpu(*model);
  };
  const auto plain = run(false), recomputed = run(true);
  REQUIRE(plain.size() == recomputed.size());
  for (const auto& [name, grad] : plain) {
    INFO(name);
    CHECK(torch::equal(recomputed.at(name), grad));
  }
}

TEST_CASE("CUDA: LibTorch's fused AdamW follows the CPU's AdamW", "[cuda][optimizer]") {
  if (!test::cuda_or_skip()) return;
  torch::manual_seed(57);
  const std::vector<torch::Tensor> initial{torch::randn({33, 17}), torch::randn({300})};
  auto make = [&](torch::Device device, std::vector<torch::Tensor>& params) {
    for (const auto& t : initial) params.push_back(t.to(device).requires_grad_());
    return torch::optim::AdamW(params, torch::optim::AdamWOptions(2e-3).weight_decay(0.1).betas({0.9, 0.95}));
  };
  std::vector<torch::Tensor> cpu_params, gpu_params;
  auto cpu = make(torch::kCPU, cpu_params);
  auto gpu = make(kCuda, gpu_params);
  for (int step = 0; step < 4; ++step) {
    for (size_t i = 0; i < initial.size(); ++i) {
      const auto grad = torch::randn_like(initial[i]) * (step + 1);
      cpu_params[i].mutable_grad() = grad.clone();
      gpu_params[i].mutable_grad() = grad.to(kCuda);
    }
    cpu.step();
    adamw_step(gpu);
  }
  for (size_t i = 0; i < initial.size(); ++i) CHECK(test::relative_error(gpu_params[i].cpu(), cpu_params[i]) < 1e-5);
}

TEST_CASE("CUDA: NF4 and int8 weights dequantize on the GPU to the CPU's values", "[cuda][quantize]") {
  if (!test::cuda_or_skip()) return;
  torch::manual_seed(58);
  const auto weight = torch::randn({96, 80});
  auto nf4 = quantize_nf4(weight);
  const auto nf4_cpu = dequantize_nf4(nf4);
  for (auto* t : {&nf4.codes, &nf4.block_max_q, &nf4.block_max_scale, &nf4.block_max_offset}) *t = t->to(kCuda);
  CHECK(torch::equal(dequantize_nf4(nf4).cpu(), nf4_cpu));
  auto int8 = quantize_int8(weight);
  const auto int8_cpu = dequantize_int8(int8);
  int8.values = int8.values.to(kCuda);
  int8.scales = int8.scales.to(kCuda);
  CHECK(torch::equal(dequantize_int8(int8).cpu(), int8_cpu));
}

TEST_CASE("CUDA: a one-rank NCCL process group sums, broadcasts and gathers on the GPU", "[cuda][distributed]") {
  if (!test::cuda_or_skip()) return;
  LaunchEnv env;
  env.rank = 0;
  env.world_size = 1;
  env.master_port = test::free_port();
  ProcessGroupOptions options;
  options.backend = "nccl";
  options.device = kCuda;
  options.timeout = std::chrono::seconds(60);
  auto group = ProcessGroup::connect(env, options);
  CHECK(group->backend_name() == "nccl");
  auto t = torch::full({5}, 3.0, torch::TensorOptions().device(kCuda));
  group->all_reduce_sum(t, "test all-reduce").wait();
  CHECK(torch::equal(t.cpu(), torch::full({5}, 3.0)));
  CHECK(group->sum({2.0, 5.0}, "test sum") == std::vector<double>{2.0, 5.0});
  auto cpu_tensor = torch::arange(4, torch::kInt64);  // CPU tensors travel through the GPU
  group->broadcast_from_rank0({cpu_tensor}, "test broadcast");
  CHECK(torch::equal(cpu_tensor, torch::arange(4, torch::kInt64)));
  CHECK(group->all_gather_text("rank zero", "test gather") == std::vector<std::string>{"rank zero"});
}

}  // namespace test_cuda
