#include "train/loss_scaler.h"

namespace trol {

bool LossScaler::unscale(const std::vector<torch::Tensor>& parameters) const {
  torch::NoGradGuard no_grad;
  const double inverse = 1.0 / state_.scale;
  std::vector<torch::Tensor> flags;
  for (const auto& p : parameters) {
    if (!p.grad().defined()) continue;
    auto grad = p.grad();
    grad.mul_(inverse);
    flags.push_back(grad.isfinite().all());
  }
  if (flags.empty()) return true;
  return torch::stack(flags).all().item<bool>();  // one host sync per step
}

void LossScaler::update(bool overflowed) {
  if (overflowed) {
    state_.scale *= 0.5;
    state_.clean_steps = 0;
    return;
  }
  if (++state_.clean_steps >= growth_interval_) {
    state_.scale *= 2.0;
    state_.clean_steps = 0;
  }
}

}  // namespace trol
