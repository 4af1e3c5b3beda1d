#include "train/fused_adamw.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <map>
#include <string>
#include <tuple>

#include "trol/compat.h"
#include "trol/fused_cpu_ops.h"

namespace trol {
namespace {

bool fusable(const torch::Tensor& t) {
  return t.defined() && t.device().is_cpu() && t.scalar_type() == torch::kFloat32 && t.is_contiguous();
}

// Whether every parameter with a gradient passes `accepts` (and amsgrad is off everywhere).
template <typename Accepts>
bool all_parameters(torch::optim::AdamW& optimizer, const Accepts& accepts) {
  for (auto& group : optimizer.param_groups()) {
    if (static_cast<torch::optim::AdamWOptions&>(group.options()).amsgrad()) return false;
    for (auto& p : group.params()) {
      if (p.grad().defined() && (p.grad().is_sparse() || !accepts(p))) return false;
    }
  }
  return true;
}

bool cpu_fusable(torch::optim::AdamW& optimizer) {
  return fused_cpu_kernels_enabled() &&
         all_parameters(optimizer, [](const torch::Tensor& p) { return fusable(p) && fusable(p.grad()); });
}

// LibTorch's fused kernel: on a GPU one launch per group for every parameter, where the
// composite step launches about ten kernels per parameter (hundreds of LoRA tensors per step).
bool library_fusable(torch::optim::AdamW& optimizer) {
  return compat::kHasFusedAdamW && all_parameters(optimizer, [](const torch::Tensor& p) {
           return (p.is_cuda() || p.is_cpu()) && p.is_floating_point() && p.grad().device() == p.device() &&
                  p.grad().scalar_type() == p.scalar_type();
         });
}

// The parameter's AdamW state in the optimizer, created as LibTorch's AdamW creates it
// (zero moments, step 0) on its first step; its step count advanced by one.
torch::optim::AdamWParamState& advanced_state(torch::optim::AdamW& optimizer, const torch::Tensor& p) {
  auto& states = optimizer.state();
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
  state.step(state.step() + 1);
  return state;
}

struct Hyper {
  double lr, weight_decay, eps, beta1, beta2;
  explicit Hyper(const torch::optim::AdamWOptions& options)
      : lr(options.lr()),
        weight_decay(options.weight_decay()),
        eps(options.eps()),
        beta1(std::get<0>(options.betas())),
        beta2(std::get<1>(options.betas())) {}
};

constexpr int64_t kElementsPerTask = 1 << 16;

void cpu_step(torch::optim::AdamW& optimizer) {
  for (auto& group : optimizer.param_groups()) {
    const Hyper h(static_cast<torch::optim::AdamWOptions&>(group.options()));
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      auto& state = advanced_state(optimizer, p);
      if (!fusable(state.exp_avg()) || !fusable(state.exp_avg_sq())) {
        state.exp_avg(state.exp_avg().contiguous());
        state.exp_avg_sq(state.exp_avg_sq().contiguous());
      }
      const auto step = static_cast<double>(state.step());
      const auto decay = static_cast<float>(1.0 - h.lr * h.weight_decay);
      const auto b1 = static_cast<float>(h.beta1), one_minus_b1 = static_cast<float>(1.0 - h.beta1);
      const auto b2 = static_cast<float>(h.beta2), one_minus_b2 = static_cast<float>(1.0 - h.beta2);
      const auto inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(1.0 - std::pow(h.beta2, step)));
      const auto step_size = static_cast<float>(h.lr / (1.0 - std::pow(h.beta1, step)));
      const auto epsilon = static_cast<float>(h.eps);

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

void library_step(torch::optim::AdamW& optimizer) {
  for (auto& group : optimizer.param_groups()) {
    const Hyper h(static_cast<torch::optim::AdamWOptions&>(group.options()));
    // One launch per (device, dtype, step count): the kernel takes each parameter's step as
    // a float32 tensor on its device, made by a fill (no host-to-device copy).
    std::map<std::tuple<std::string, int, int64_t>, compat::FusedAdamWLists> lists;
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      auto& state = advanced_state(optimizer, p);
      auto& list = lists[{p.device().str(), static_cast<int>(p.scalar_type()), state.step()}];
      if (!list.step.defined()) list.step = torch::full({}, static_cast<double>(state.step()), p.options().dtype(torch::kFloat32));
      list.params.push_back(p);
      list.grads.push_back(p.grad());
      list.exp_avgs.push_back(state.exp_avg());
      list.exp_avg_sqs.push_back(state.exp_avg_sq());
    }
    for (auto& [key, list] : lists) compat::fused_adamw(list, h.lr, h.beta1, h.beta2, h.weight_decay, h.eps);
  }
}

}  // namespace

void adamw_step(torch::optim::AdamW& optimizer) {
  torch::NoGradGuard no_grad;
  if (cpu_fusable(optimizer)) {
    cpu_step(optimizer);
  } else if (library_fusable(optimizer)) {
    library_step(optimizer);
  } else {
    optimizer.step();
  }
}

}  // namespace trol
