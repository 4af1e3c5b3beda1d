// Backward against central finite differences in float64: the TroL mixer on its own, and
// the whole model (vision encoder, projector, traversed decoder, gates, LM head, loss).
#include "tests/catch.h"

#include "data/synthetic_batch.h"
#include "test_helpers.h"
#include "trol/trol_mixer.h"

namespace test_gradients {

using namespace trol;

namespace {

// Compares d loss / d p[i] from autograd with (loss(p + eps) - loss(p - eps)) / 2 eps for
// `samples` entries of `parameter`, spread over the tensor.
void check_entries(const std::string& name, torch::Tensor parameter, const std::function<torch::Tensor()>& loss_fn,
                   int samples = 3) {
  REQUIRE(parameter.grad().defined());
  const auto grad = parameter.grad().clone();
  auto flat = parameter.view({-1});
  const double eps = 1e-6;
  const int64_t n = flat.numel();
  for (int s = 0; s < samples && s < n; ++s) {
    const int64_t i = (s * 7919 + 13) % n;
    double numeric;
    {
      torch::NoGradGuard no_grad;
      const double original = flat[i].item<double>();
      flat[i] = original + eps;
      const double plus = loss_fn().item<double>();
      flat[i] = original - eps;
      const double minus = loss_fn().item<double>();
      flat[i] = original;
      numeric = (plus - minus) / (2 * eps);
    }
    const double analytic = grad.view({-1})[i].item<double>();
    INFO(name << "[" << i << "]: autograd " << analytic << ", finite difference " << numeric);
    CHECK(std::abs(analytic - numeric) <= 1e-6 + 1e-5 * std::abs(numeric));
  }
}

}  // namespace

TEST_CASE("mixer gradients match finite differences", "[gradients]") {
  torch::manual_seed(21);
  torch::nn::Linear gate(5, 1);
  gate->to(torch::kFloat64);
  const auto h1 = torch::randn({2, 3, 5}, torch::kFloat64).requires_grad_();
  const auto h2 = torch::randn({2, 3, 5}, torch::kFloat64).requires_grad_();
  const auto target = torch::randn({2, 3, 5}, torch::kFloat64);
  auto loss_fn = [&] { return (trol_mix(h1, h2, trol_gate_ratio(gate, h1)) * target).sum(); };
  loss_fn().backward();
  check_entries("gate.weight", gate->weight, loss_fn, 5);
  check_entries("gate.bias", gate->bias, loss_fn, 1);
  check_entries("h1", h1, loss_fn, 6);
  check_entries("h2", h2, loss_fn, 6);
}

TEST_CASE("whole-model gradients match finite differences", "[gradients]") {
  const std::string family = GENERATE(std::string("phi3"), std::string("internlm2"));
  INFO(family);
  auto config = test::tiny_config(family);
  config.vision.frozen = false;  // check the encoder's gradients too
  TrolModel model(config);
  test::randomize_parameters(*model, 22, 0.2);
  model->to(torch::kFloat64);
  SyntheticBatchShape shape;
  shape.batch_size = 2;
  shape.seq_len = config.vision.tokens_per_image() + 8;
  auto batch = synthetic_batch(config, shape, 23);
  batch.pixel_values = batch.pixel_values.to(torch::kFloat64);
  auto loss_fn = [&] { return model->forward(batch).loss.mean; };
  loss_fn().backward();
  for (auto& p : model->named_parameters()) {
    INFO(p.key());
    REQUIRE(p.value().grad().defined());
    check_entries(p.key(), p.value(), loss_fn, 2);
  }
}

}  // namespace test_gradients
