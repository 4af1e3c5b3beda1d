// The fused AdamW step against LibTorch's own AdamW (an independent implementation of the
// same rule), over several steps, two parameter groups, and a switch between the two.
#include "tests/catch.h"

#include "train/fused_adamw.h"
#include "trol/compat.h"
#include "trol/fused_cpu_ops.h"

namespace test_fused_adamw {

using namespace trol;

namespace {

struct Setup {
  std::vector<torch::Tensor> decayed, plain;
  std::unique_ptr<torch::optim::AdamW> optimizer;
};

Setup make_setup(torch::ScalarType dtype) {
  torch::manual_seed(11);
  Setup s;
  s.decayed = {torch::randn({7, 5}, dtype).requires_grad_(), torch::randn({300}, dtype).requires_grad_()};
  s.plain = {torch::randn({3}, dtype).requires_grad_()};
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(s.decayed, std::make_unique<torch::optim::AdamWOptions>(
                                     torch::optim::AdamWOptions(2e-3).weight_decay(0.1).betas({0.9, 0.95})));
  groups.emplace_back(s.plain, std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(5e-3).weight_decay(0)));
  s.optimizer = std::make_unique<torch::optim::AdamW>(std::move(groups), torch::optim::AdamWOptions(1e-3));
  return s;
}

void set_gradients(Setup& s, int step) {
  torch::manual_seed(100 + step);
  for (auto* list : {&s.decayed, &s.plain}) {
    for (auto& p : *list) p.mutable_grad() = torch::randn_like(p) * (step + 1);
  }
}

double max_relative_difference(const Setup& a, const Setup& b) {
  double worst = 0;
  for (size_t i = 0; i < a.decayed.size(); ++i) {
    worst = std::max(worst, ((a.decayed[i] - b.decayed[i]).abs().max() / b.decayed[i].abs().max()).item<double>());
  }
  worst = std::max(worst, ((a.plain[0] - b.plain[0]).abs().max() / b.plain[0].abs().max()).item<double>());
  return worst;
}

}  // namespace

TEST_CASE("fused AdamW follows LibTorch's AdamW step for step", "[optimizer]") {
  // trol's CPU kernel, or without it LibTorch's fused multi-tensor kernel (what GPUs run;
  // LibTorch >= 2.4) or, before 2.4, LibTorch's composite step.
  const bool trol_kernel = GENERATE(true, false);
  INFO((trol_kernel ? "trol's CPU kernel" : "LibTorch's kernel"));
  const bool kernels_were_on = fused_cpu_kernels_enabled();
  set_fused_cpu_kernels(trol_kernel);
  auto fused = make_setup(torch::kFloat32);
  auto reference = make_setup(torch::kFloat32);
  for (int step = 0; step < 6; ++step) {
    set_gradients(fused, step);
    set_gradients(reference, step);
    // Step 4 runs LibTorch's step on the fused run's state: the two share it.
    if (step == 4) {
      fused.optimizer->step();
    } else {
      adamw_step(*fused.optimizer);
    }
    reference.optimizer->step();
    CAPTURE(step);
    CHECK(max_relative_difference(fused, reference) < 1e-6);
  }
  // The state is LibTorch's: same step counts and moments.
  for (size_t i = 0; i < fused.decayed.size(); ++i) {
    const auto key = [](const torch::Tensor& p) { return trol::compat::optimizer_state_key(p); };
    auto& a = static_cast<torch::optim::AdamWParamState&>(*fused.optimizer->state().at(key(fused.decayed[i])));
    auto& b = static_cast<torch::optim::AdamWParamState&>(*reference.optimizer->state().at(key(reference.decayed[i])));
    CHECK(a.step() == 6);
    CHECK(b.step() == 6);
    CHECK(torch::allclose(a.exp_avg_sq(), b.exp_avg_sq(), 1e-6, 0));
  }
  set_fused_cpu_kernels(kernels_were_on);
}

TEST_CASE("AdamW takes LibTorch's step where trol's kernel does not apply (float64)", "[optimizer]") {
  auto fused = make_setup(torch::kFloat64);
  auto reference = make_setup(torch::kFloat64);
  set_gradients(fused, 0);
  set_gradients(reference, 0);
  adamw_step(*fused.optimizer);
  reference.optimizer->step();
  // LibTorch's fused kernel (>= 2.4) in float64, or its composite step itself (bit for bit).
  if (compat::kHasFusedAdamW) {
    CHECK(max_relative_difference(fused, reference) < 1e-12);
  } else {
    CHECK(max_relative_difference(fused, reference) == 0.0);
  }
}

}  // namespace test_fused_adamw
