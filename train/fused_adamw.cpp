#include "train/fused_adamw.h"

#include <ATen/Parallel.h>

#include <cmath>

#include "trol/compat.h"
#include "trol/fused_cpu_ops.h"

namespace trol {
namespace {

bool fusable(const torch::Tensor& t) {
  return t.defined() && t.device().is_cpu() && t.scalar_type() == torch::kFloat32 && t.is_contiguous();
}

bool all_fusable(torch::optim::AdamW& optimizer) {
  if (!fused_cpu_kernels_enabled()) return false;
  for (auto& group : optimizer.param_groups()) {
    if (static_cast<torch::optim::AdamWOptions&>(group.options()).amsgrad()) return false;
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      if (!fusable(p) || !fusable(p.grad()) || p.grad().is_sparse()) return false;
    }
  }
  return true;
}

constexpr int64_t kElementsPerTask = 1 << 16;

}  // namespace

void adamw_step(torch::optim::AdamW& optimizer) {
  if (!all_fusable(optimizer)) {
    optimizer.step();
    return;
  }
  torch::NoGradGuard no_grad;
  auto& states = optimizer.state();
  for (auto& group : optimizer.param_groups()) {
    const auto& options = static_cast<torch::optim::AdamWOptions&>(group.options());
    const double lr = options.lr(), weight_decay = options.weight_decay(), eps = options.eps();
    const double beta1 = std::get<0>(options.betas()), beta2 = std::get<1>(options.betas());
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      const auto key = compat::optimizer_state_key(p);
      auto found = states.find(key);
      if (found == states.end()) {
        auto fresh = std::make_unique<torch::optim::AdamWParamState>();
        fresh->step(0);
        fresh->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Contiguous));
        fresh->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Contiguous));
        found = states.emplace(key, std::move(fresh)).first;
      }
      auto& state = static_cast<torch::optim::AdamWParamState&>(*found->second);
      if (!fusable(state.exp_avg()) || !fusable(state.exp_avg_sq())) {
        state.exp_avg(state.exp_avg().contiguous());
        state.exp_avg_sq(state.exp_avg_sq().contiguous());
      }
      state.step(state.step() + 1);
      const auto step = static_cast<double>(state.step());
      const auto decay = static_cast<float>(1.0 - lr * weight_decay);
      const auto b1 = static_cast<float>(beta1), one_minus_b1 = static_cast<float>(1.0 - beta1);
      const auto b2 = static_cast<float>(beta2), one_minus_b2 = static_cast<float>(1.0 - beta2);
      const auto inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(1.0 - std::pow(beta2, step)));
      const auto step_size = static_cast<float>(lr / (1.0 - std::pow(beta1, step)));
      const auto epsilon = static_cast<float>(eps);

      float* param = p.data_ptr<float>();
      const float* grad = p.grad().data_ptr<float>();
      float* m = state.exp_avg().data_ptr<float>();
      float* v = state.exp_avg_sq().data_ptr<float>();
      at::parallel_for(0, p.numel(), kElementsPerTask, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
          const float g = grad[i];
          m[i] = m[i] * b1 + one_minus_b1 * g;
          v[i] = v[i] * b2 + one_minus_b2 * g * g;
          const float denom = std::sqrt(v[i]) * inv_sqrt_bc2 + epsilon;
          param[i] = param[i] * decay - step_size * m[i] / denom;
        }
      });
    }
  }
}

}  // namespace trol
