// Activation checkpointing gives the gradients of the plain backward pass: the whole model
// (both backbone layouts, per-layer and shared gates, traversal off), a step-1 model whose
// decoder input needs no gradient, and a block that draws dropout masks.
#include "tests/catch.h"

#include "data/synthetic_batch.h"
#include "test_helpers.h"
#include "trol/compat.h"
#include "trol/activation_checkpoint.h"
#include "trol/param_groups.h"

namespace test_activation_checkpoint {

using namespace trol;

namespace {

struct Gradients {
  double loss = 0;
  std::map<std::string, torch::Tensor> grads;
};

Gradients model_gradients(const ModelConfig& config, const ModelInputs& batch, bool recompute,
                          const std::map<std::string, bool>& trainable = {}) {
  TrolModel model(config);
  test::randomize_parameters(*model, 31, 0.2);
  model->to(torch::kFloat64);
  ParameterGroups().set_trainable(*model, trainable);
  model->model->set_activation_checkpointing(recompute);
  model->train();
  auto inputs = batch;
  if (inputs.pixel_values.defined()) inputs.pixel_values = inputs.pixel_values.to(torch::kFloat64);
  const auto loss = model->forward(inputs).loss.mean;
  loss.backward();
  Gradients out;
  out.loss = loss.item<double>();
  for (const auto& p : model->named_parameters()) {
    if (p.value().requires_grad()) out.grads[p.key()] = p.value().grad();
  }
  return out;
}

void check_same(const Gradients& plain, const Gradients& recomputed) {
  CHECK(recomputed.loss == plain.loss);
  REQUIRE(recomputed.grads.size() == plain.grads.size());
  for (const auto& [name, grad] : plain.grads) {
    INFO(name);
    const auto& other = recomputed.grads.at(name);
    REQUIRE(grad.defined() == other.defined());  // undefined in both: the gates with traversal off
    if (!grad.defined()) continue;
    CHECK(torch::allclose(other, grad, 1e-12, 1e-14));
  }
}

}  // namespace

TEST_CASE("checkpointed TroL layers give the gradients of the plain backward pass", "[checkpointing]") {
  const std::string family = GENERATE(std::string("phi3"), std::string("internlm2"));
  // per-layer gates, one shared gate, traversal off, Partial LoRA (its image-token mask is
  // captured by the recomputed block)
  const int variant = GENERATE(0, 1, 2, 3);
  INFO(family << " variant " << variant);
  auto config = test::tiny_config(family);
  config.vision.frozen = false;
  config.trol.shared_gate = variant == 1;
  config.trol.traversal = variant != 2;
  if (variant == 3) {
    config.lora.rank = 2;
    config.lora.dropout = 0;
    config.lora.partial = true;
    config.lora.targets = {"model.layers.*"};
  }
  SyntheticBatchShape shape;
  shape.batch_size = 2;
  shape.seq_len = config.vision.tokens_per_image() + 8;
  const auto batch = synthetic_batch(config, shape, 32);
  check_same(model_gradients(config, batch, false), model_gradients(config, batch, true));
}

TEST_CASE("checkpointing trains the gates when nothing below them needs a gradient (step 1)", "[checkpointing]") {
  auto config = test::tiny_config();
  config.vision.enabled = false;  // text only: the decoder's input is the frozen embedding
  SyntheticBatchShape shape;
  shape.batch_size = 2;
  shape.seq_len = 10;
  shape.images_per_sample = 0;
  const auto batch = synthetic_batch(config, shape, 33);
  const std::map<std::string, bool> step1{{"llm", false}, {"mixer", true}};
  const auto plain = model_gradients(config, batch, false, step1);
  const auto recomputed = model_gradients(config, batch, true, step1);
  REQUIRE_FALSE(plain.grads.empty());
  for (const auto& [name, grad] : plain.grads) CHECK(name.find("trol_gating") != std::string::npos);
  check_same(plain, recomputed);
}

TEST_CASE("a checkpointed block redraws its dropout masks and leaves the generator as it found it", "[checkpointing]") {
  const auto weight = torch::randn({6, 6}, torch::kFloat64).requires_grad_();
  const auto x = torch::randn({4, 6}, torch::kFloat64).requires_grad_();
  const Block block = [&](const std::vector<torch::Tensor>& in) -> std::vector<torch::Tensor> {
    return {torch::dropout(torch::tanh(in[0].matmul(weight)), 0.5, /*train=*/true)};
  };
  auto run = [&](bool recompute) {
    weight.mutable_grad() = torch::Tensor();
    x.mutable_grad() = torch::Tensor();
    torch::manual_seed(34);
    const auto y = recompute ? checkpointed(block, {x}, {weight})[0] : block({x})[0];
    y.pow(2).sum().backward();
    const auto next_draw = torch::rand({3}, torch::kFloat64);
    return std::vector<torch::Tensor>{y.detach(), weight.grad().clone(), x.grad().clone(), next_draw};
  };
  const auto plain = run(false), recomputed = run(true);
  CHECK(plain[0].eq(0).any().item<bool>());  // dropout did drop
  for (size_t i = 0; i < plain.size(); ++i) CHECK(torch::equal(plain[i], recomputed[i]));
  // Without grad mode the block just runs.
  torch::NoGradGuard no_grad;
  torch::manual_seed(34);
  const auto direct = block({x})[0];
  torch::manual_seed(34);
  CHECK(torch::equal(checkpointed(block, {x}, {weight})[0], direct));
}

TEST_CASE("a checkpointed block is recomputed in its forward's autocast precision", "[checkpointing][mixed_precision]") {
  // The forward runs under bfloat16 autocast, the backward after the guard has closed (as in
  // a training step): the recomputation must run in bfloat16 again, or its gradients are those
  // of a float32 forward that never produced the loss.
  torch::manual_seed(35);
  const auto w1 = torch::randn({16, 16}).requires_grad_();
  const auto w2 = torch::randn({16, 16}).requires_grad_();
  const auto x = torch::randn({8, 16}).requires_grad_();
  const Block block = [&](const std::vector<torch::Tensor>& in) -> std::vector<torch::Tensor> {
    return {torch::tanh(in[0].matmul(w1)).matmul(w2)};
  };
  auto run = [&](bool recompute, bool autocast) {
    for (const auto* t : {&w1, &w2, &x}) t->mutable_grad() = torch::Tensor();
    torch::Tensor y;
    {
      std::optional<compat::AutocastGuard> guard;
      if (autocast) guard.emplace(torch::kCPU, torch::kBFloat16);
      y = recompute ? checkpointed(block, {x}, {w1, w2})[0] : block({x})[0];
    }
    y.to(torch::kFloat32).pow(2).sum().backward();
    return std::vector<torch::Tensor>{w1.grad().clone(), w2.grad().clone(), x.grad().clone()};
  };
  const auto plain = run(false, true), recomputed = run(true, true), float32 = run(false, false);
  for (size_t i = 0; i < plain.size(); ++i) {
    INFO("gradient " << i);
    CHECK(torch::equal(recomputed[i], plain[i]));
    CHECK_FALSE(torch::allclose(plain[i], float32[i], 1e-4, 1e-5));  // bfloat16 made a difference
  }
  CHECK_FALSE(compat::autocast_dtype(torch::kCPU).has_value());  // the recomputation's guard closed
}

}  // namespace test_activation_checkpoint
