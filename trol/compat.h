// Every difference between the LibTorch versions trol builds against lives here:
// Debian's LibTorch 1.13 (CPU, CI) and CUDA LibTorch 2.x (users' GPU machines).
#pragma once

#include <ATen/autocast_mode.h>
#include <torch/torch.h>
#include <torch/version.h>

#include "trol/fused_attention_cpu.h"
#include "trol/fused_cpu_ops.h"

#include <sstream>
#include <string>

#define TROL_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

// c10d's process-group classes (only declared here: their headers are heavy and stay in
// train/distributed/process_group.cpp). In 1.13 ProcessGroupGloo and ProcessGroupNCCL derive
// from ProcessGroup; from 2.0 on from Backend, ProcessGroup being a dispatcher over backends.
namespace c10d {
class ProcessGroup;
class Backend;
}  // namespace c10d
namespace trol::compat {
#if TROL_TORCH_AT_LEAST(2, 0)
using C10dBackend = ::c10d::Backend;
#else
using C10dBackend = ::c10d::ProcessGroup;
#endif
}  // namespace trol::compat

namespace trol::compat {

// The key under which LibTorch's optimizers keep a parameter's state: its TensorImpl's
// address as an ostream prints it (c10::guts::to_string in 1.13 and 2.x, which later
// versions deprecate).
inline std::string optimizer_state_key(const torch::Tensor& parameter) {
  std::ostringstream key;
  key << parameter.unsafeGetTensorImpl();
  return key.str();
}

// softmax(q k^T / sqrt(d) + additive_mask) v: q [batch, heads, seq, head_dim], k and v with
// `heads` or a divisor of it (grouped-query: query head h reads key/value head h / groups).
// `additive_mask` broadcasts to [batch, heads, q_len, k_len] and holds 0 or a large negative
// number; undefined means no mask (which lets 2.x pick its flash kernel on CUDA).
// LibTorch 2.x has fused kernels (flash / memory-efficient on CUDA, flash on CPU); 1.13 does
// not, so trol brings its own for float32 CPU tensors (trol/fused_attention_cpu.h).
inline torch::Tensor scaled_dot_product_attention(const torch::Tensor& q, const torch::Tensor& k_in,
                                                  const torch::Tensor& v_in,
                                                  const torch::Tensor& additive_mask) {
#if !TROL_TORCH_AT_LEAST(2, 0)
  // Under autocast the products run in bfloat16 and the composite ops follow them.
  if (fused_cpu_applies(q) && k_in.scalar_type() == torch::kFloat32 && v_in.scalar_type() == torch::kFloat32 &&
      !at::autocast::is_cpu_enabled()) {
    return fused_cpu_attention(q, k_in, v_in, additive_mask);
  }
#endif
  const int64_t groups = q.size(1) / k_in.size(1);
  const auto repeat_heads = [&](const torch::Tensor& x) {
    if (groups == 1) return x;
    const auto b = x.size(0), kv = x.size(1), t = x.size(2), d = x.size(3);
    return x.unsqueeze(2).expand({b, kv, groups, t, d}).reshape({b, kv * groups, t, d});
  };
  const auto k = repeat_heads(k_in), v = repeat_heads(v_in);
#if TROL_TORCH_AT_LEAST(2, 0)
  if (!additive_mask.defined()) return at::scaled_dot_product_attention(q, k, v);
  return at::scaled_dot_product_attention(q, k, v, additive_mask);
#else
  // The scale goes on q (seq x head_dim) rather than on the scores (seq x seq): at long
  // sequences that saves a pass over the largest tensor forward and another backward.
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  auto scores = torch::matmul(q * scale, k.transpose(-2, -1));
  if (additive_mask.defined()) scores.add_(additive_mask);
  return torch::matmul(torch::softmax(scores, -1), v);
#endif
}

// Autocast (mixed precision) on `device` in `dtype` for the guard's lifetime: matrix products
// run in the low precision, reductions and losses in float32, parameters stay as they are.
// LibTorch 2.4 names the switches per device type; 1.13 to 2.3 have one pair per backend.
class AutocastGuard {
 public:
  AutocastGuard(torch::DeviceType device, torch::ScalarType dtype) : device_(device) {
#if TROL_TORCH_AT_LEAST(2, 4)
    was_enabled_ = at::autocast::is_autocast_enabled(device);
    previous_dtype_ = at::autocast::get_autocast_dtype(device);
    at::autocast::set_autocast_dtype(device, dtype);
    at::autocast::set_autocast_enabled(device, true);
#else
    if (device == torch::kCUDA) {
      was_enabled_ = at::autocast::is_enabled();
      previous_dtype_ = at::autocast::get_autocast_gpu_dtype();
      at::autocast::set_autocast_gpu_dtype(dtype);
      at::autocast::set_enabled(true);
    } else {
      was_enabled_ = at::autocast::is_cpu_enabled();
      previous_dtype_ = at::autocast::get_autocast_cpu_dtype();
      at::autocast::set_autocast_cpu_dtype(dtype);
      at::autocast::set_cpu_enabled(true);
    }
#endif
    at::autocast::increment_nesting();
  }
  ~AutocastGuard() {
    // Casts of the weights are cached while autocast is on; the outermost guard drops them
    // (they would be stale after the optimizer step).
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
#if TROL_TORCH_AT_LEAST(2, 4)
    at::autocast::set_autocast_enabled(device_, was_enabled_);
    at::autocast::set_autocast_dtype(device_, previous_dtype_);
#else
    if (device_ == torch::kCUDA) {
      at::autocast::set_enabled(was_enabled_);
      at::autocast::set_autocast_gpu_dtype(previous_dtype_);
    } else {
      at::autocast::set_cpu_enabled(was_enabled_);
      at::autocast::set_autocast_cpu_dtype(previous_dtype_);
    }
#endif
  }
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  torch::DeviceType device_;
  bool was_enabled_ = false;
  torch::ScalarType previous_dtype_ = torch::kFloat32;
};

}  // namespace trol::compat
