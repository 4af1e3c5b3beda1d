// Mixed precision: the autocast forward over float32 weights (bfloat16 on CPU, which is what
// LibTorch's CPU autocast supports), and float16's dynamic loss scaling.
#include "tests/catch.h"

#include "data/synthetic_batch.h"
#include "test_helpers.h"
#include "train/loss_scaler.h"
#include "train/optimizer.h"
#include "train/train_step.h"
#include "trol/compat.h"
#include "trol/param_groups.h"

namespace test_mixed_precision {

using namespace trol;

namespace {

struct Setup {
  TrolModel model{nullptr};
  StageOptimizer optimizer;
  std::vector<torch::Tensor> trainable;
  std::vector<Batch> micro;
};

Setup setup() {
  Setup s;
  const auto config = test::tiny_config();
  s.model = TrolModel(config);
  test::randomize_parameters(*s.model, 41, 0.2);
  StageConfig stage;
  s.optimizer = make_optimizer(*s.model, stage);
  s.optimizer.set_learning_rate(1e-3);
  s.trainable = trainable_parameters(*s.model);
  SyntheticBatchShape shape;
  shape.seq_len = config.vision.tokens_per_image() + 12;
  Batch batch;
  batch.inputs = synthetic_batch(config, shape, 42);
  batch.supervised_tokens = batch.inputs.labels.narrow(1, 1, shape.seq_len - 1).ne(-100).sum().item<int64_t>();
  s.micro = {batch};
  return s;
}

}  // namespace

TEST_CASE("bfloat16 autocast runs the products in bfloat16 over float32 weights, close to float32", "[mixed_precision]") {
  auto reference = setup();
  auto mixed = setup();
  {
    compat::AutocastGuard autocast(torch::kCPU, torch::kBFloat16);
    const auto out = mixed.model->forward(mixed.micro[0].inputs);
    CHECK(out.logits.scalar_type() == torch::kBFloat16);  // the LM head ran in bfloat16
  }
  CHECK_FALSE(compat::autocast_dtype(torch::kCPU).has_value());  // the guard put things back

  StepOptions plain;
  plain.max_grad_norm = 0;
  auto autocast = plain;
  autocast.autocast = torch::kBFloat16;
  const auto a = training_step(reference.model, *reference.optimizer.adamw, reference.trainable, reference.micro, plain);
  const auto b = training_step(mixed.model, *mixed.optimizer.adamw, mixed.trainable, mixed.micro, autocast);
  REQUIRE(b.applied);
  CHECK(b.loss == Approx(a.loss).epsilon(0.02));
  CHECK(b.loss != a.loss);  // and the step did run in bfloat16
  const auto ga = test::gradients_on_cpu(*reference.model), gb = test::gradients_on_cpu(*mixed.model);
  REQUIRE(ga.size() == gb.size());
  for (const auto& [name, grad] : ga) {
    INFO(name);
    REQUIRE(gb.at(name).scalar_type() == torch::kFloat32);  // float32 master gradients
    const double cosine = torch::cosine_similarity(grad.flatten(), gb.at(name).flatten(), 0).item<double>();
    if (grad.norm().item<double>() > 1e-6) CHECK(cosine > 0.98);
  }
  for (const auto& p : mixed.model->parameters()) CHECK(p.scalar_type() == torch::kFloat32);
}

TEST_CASE("the loss scaler halves on overflow, doubles after clean steps, and unscales exactly", "[mixed_precision]") {
  LossScaler scaler({1024.0, 0}, 3);
  scaler.update(false);
  scaler.update(false);
  CHECK(scaler.scale() == 1024.0);
  scaler.update(false);
  CHECK(scaler.scale() == 2048.0);
  scaler.update(false);
  scaler.update(true);
  CHECK(scaler.scale() == 1024.0);
  CHECK(scaler.state().clean_steps == 0);

  auto p = torch::zeros({3}).requires_grad_();
  p.mutable_grad() = torch::tensor({1024.0f, -3.0f * 1024, 0.5f});
  CHECK(scaler.unscale({p}));
  CHECK(torch::equal(p.grad(), torch::tensor({1.0f, -3.0f, 0.5f / 1024})));
  p.mutable_grad() = torch::tensor({1.0f, std::numeric_limits<float>::infinity(), 0.0f});
  CHECK_FALSE(scaler.unscale({p}));
}

TEST_CASE("a scaled step equals the unscaled one, an overflowing scale skips the step and backs off", "[mixed_precision]") {
  auto reference = setup();
  auto scaled = setup();
  StepOptions plain;
  auto with_scaler = plain;
  LossScaler scaler;  // 2^16
  with_scaler.loss_scaler = &scaler;
  training_step(reference.model, *reference.optimizer.adamw, reference.trainable, reference.micro, plain);
  const auto outcome = training_step(scaled.model, *scaled.optimizer.adamw, scaled.trainable, scaled.micro, with_scaler);
  CHECK(outcome.applied);
  // A power-of-two scale commutes exactly with backward's linear operations.
  const auto ga = test::gradients_on_cpu(*reference.model), gb = test::gradients_on_cpu(*scaled.model);
  for (const auto& [name, grad] : ga) {
    INFO(name);
    CHECK(torch::equal(grad, gb.at(name)));
  }
  auto weights = scaled.model->named_parameters();
  for (const auto& p : reference.model->named_parameters()) CHECK(torch::equal(p.value(), weights[p.key()]));

  LossScaler huge({1e45, 0});  // the scaled loss overflows float32 as loss x 65536 can overflow float16
  with_scaler.loss_scaler = &huge;
  std::map<std::string, torch::Tensor> before;
  for (const auto& p : scaled.model->named_parameters()) before[p.key()] = p.value().clone();
  const auto skipped = training_step(scaled.model, *scaled.optimizer.adamw, scaled.trainable, scaled.micro, with_scaler);
  CHECK(skipped.overflowed);
  CHECK_FALSE(skipped.applied);
  CHECK(std::isfinite(skipped.loss));
  CHECK(huge.scale() == 0.5e45);
  for (const auto& p : scaled.model->named_parameters()) CHECK(torch::equal(p.value(), before[p.key()]));
}

}  // namespace test_mixed_precision
