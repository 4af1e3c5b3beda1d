// Every difference between the LibTorch versions trol builds against lives here:
// Debian's LibTorch 1.13 (CPU, CI) and CUDA LibTorch 2.x (users' GPU machines).
#pragma once

#include <ATen/autocast_mode.h>
#include <torch/torch.h>
#include <torch/version.h>

#include "trol/fused_attention_cpu.h"
#include "trol/fused_cpu_ops.h"

#include <limits>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

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

// c10d's TCPStore: from 2.2 on its options say whether the server runs on libuv (the default
// from 2.4 on), and a LibTorch built without libuv refuses a store that asks for it; 1.13 has
// no such option. Templates, so that only process_group.cpp needs TCPStore's header.
template <typename StoreOptions, typename = void>
struct has_libuv_option : std::false_type {};
template <typename StoreOptions>
struct has_libuv_option<StoreOptions, std::void_t<decltype(std::declval<StoreOptions&>().useLibUV)>>
    : std::true_type {};

template <typename StoreOptions>
void serve_tcp_store_with_libuv(StoreOptions& options, bool use) {
  if constexpr (has_libuv_option<StoreOptions>::value) options.useLibUV = use;
}

// Whether `message` is a TCPStore's refusal of libuv by a LibTorch built without it.
inline bool is_missing_libuv(const std::string& message) {
  return message.find("without libuv support") != std::string::npos;
}

// The key under which LibTorch's optimizers keep a parameter's state: its TensorImpl's
// address, as an ostream prints it in 1.13 (a std::string key) and as the pointer itself
// from 2.x on (a void* key). The key type is read off the optimizer's own map.
using OptimizerStateKey =
    std::decay_t<decltype(std::declval<torch::optim::Optimizer&>().state())>::key_type;

// (A template so that the branch of the other version is discarded, not compiled.)
template <typename Key = OptimizerStateKey>
Key optimizer_state_key(const torch::Tensor& parameter) {
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream key;
    key << parameter.unsafeGetTensorImpl();
    return key.str();
  } else {
    return parameter.unsafeGetTensorImpl();
  }
}

// LibTorch's fused AdamW (at::_fused_adamw_: one kernel launch for a list of tensors on one
// device and dtype; CPU and CUDA from 2.4 on, not in 1.13). `step` is the step count after
// this step (every tensor in the lists shares it), a float32 scalar on their device.
struct FusedAdamWLists {
  std::vector<torch::Tensor> params, grads, exp_avgs, exp_avg_sqs;
  torch::Tensor step;
};
#if TROL_TORCH_AT_LEAST(2, 4)
constexpr bool kHasFusedAdamW = true;
inline void fused_adamw(const FusedAdamWLists& lists, double lr, double beta1, double beta2, double weight_decay,
                        double eps) {
  const std::vector<torch::Tensor> steps(lists.params.size(), lists.step);
  at::_fused_adamw_(lists.params, lists.grads, lists.exp_avgs, lists.exp_avg_sqs, /*max_exp_avg_sqs=*/{}, steps, lr,
                    beta1, beta2, weight_decay, eps, /*amsgrad=*/false, /*maximize=*/false);
}
#else
constexpr bool kHasFusedAdamW = false;
inline void fused_adamw(const FusedAdamWLists&, double, double, double, double, double) {
  throw std::logic_error("at::_fused_adamw_ needs LibTorch 2.4 or later");
}
#endif

// Whether the decoder passes no mask for right-padded batches, only causality: 2.x's SDPA
// takes `is_causal` to its flash kernels; 1.13's kernels take a mask anyway.
constexpr bool kCausalAttentionWithoutMask = TROL_TORCH_AT_LEAST(2, 0);

// Which keys causal attention lets its queries see: bool [q_len, k_len], the queries being the
// last q_len of k_len positions. With a sliding window W > 0 (LlmConfig::sliding_window) the
// query at position p sees the keys at p - W .. p.
inline torch::Tensor causal_allowed(int64_t q_len, int64_t k_len, int64_t sliding_window,
                                    const torch::TensorOptions& options) {
  const auto ones = torch::ones({q_len, k_len}, options.dtype(torch::kBool));
  auto allowed = ones.tril(k_len - q_len);
  if (sliding_window > 0) allowed.logical_and_(ones.triu(k_len - q_len - sliding_window));
  return allowed;
}

// Whether a sliding window hides any of k_len keys from the queries at their end: the last
// query is k_len - 1 positions after the first key.
inline bool window_hides_keys(int64_t k_len, int64_t sliding_window) {
  return sliding_window > 0 && k_len - 1 > sliding_window;
}

// The additive causal mask [q_len, k_len] of queries at the last q_len of k_len positions,
// windowed as causal_allowed. Every query sees itself, so no row is fully masked.
inline torch::Tensor causal_additive_mask(int64_t q_len, int64_t k_len, const torch::TensorOptions& options,
                                          int64_t sliding_window = 0) {
  const auto allowed = causal_allowed(q_len, k_len, sliding_window, options);
  return torch::zeros({q_len, k_len}, options).masked_fill_(allowed.logical_not(), -std::numeric_limits<float>::infinity());
}

// softmax(q k^T / sqrt(d) + additive_mask) v: q [batch, heads, seq, head_dim], k and v with
// `heads` or a divisor of it (grouped-query: query head h reads key/value head h / groups).
// `additive_mask` broadcasts to [batch, heads, q_len, k_len] and holds 0 or a large negative
// number; undefined means no mask (which lets 2.x pick its flash kernel on CUDA), or with
// `causal` that a query at position p (the queries are the last q_len of k_len positions)
// sees the keys up to p, and with `sliding_window` W > 0 only those from p - W on (a defined
// mask holds the window itself). LibTorch 2.x has fused kernels (flash / memory-efficient on CUDA,
// flash on CPU), from 2.5 on with grouped-query heads inside; 1.13 does not, so trol brings
// its own for float32 CPU tensors (trol/fused_attention_cpu.h). Neither has a windowed kernel
// (SDPA takes no window), so a window that hides keys travels as an explicit mask.
inline torch::Tensor scaled_dot_product_attention(const torch::Tensor& q, const torch::Tensor& k_in,
                                                  const torch::Tensor& v_in, const torch::Tensor& additive_mask,
                                                  bool causal = false, int64_t sliding_window = 0) {
  const int64_t q_len = q.size(2), k_len = k_in.size(2), groups = q.size(1) / k_in.size(1);
  // SDPA's is_causal aligns its triangle top-left, which is trol's causality only for as many
  // queries as keys; one query at the end sees every key and needs no mask at all, unless the
  // window hides some. A sequence within the window keeps the maskless fast path.
  auto mask = additive_mask;
  [[maybe_unused]] bool is_causal = false;  // 1.13 takes the mask instead
  const bool windowed = window_hides_keys(k_len, sliding_window);
  if (!mask.defined() && causal && (q_len > 1 || windowed)) {
    if (q_len == k_len && !windowed && TROL_TORCH_AT_LEAST(2, 0)) {
      is_causal = true;
    } else {
      mask = causal_additive_mask(q_len, k_len, q.options(), sliding_window);
    }
  }
#if TROL_TORCH_AT_LEAST(2, 5)
  if (!mask.defined()) return at::scaled_dot_product_attention(q, k_in, v_in, {}, 0.0, is_causal, std::nullopt, groups > 1);
#endif
#if !TROL_TORCH_AT_LEAST(2, 0)
  // Under autocast the products run in bfloat16 and the composite ops follow them.
  if (fused_cpu_applies(q) && k_in.scalar_type() == torch::kFloat32 && v_in.scalar_type() == torch::kFloat32 &&
      !at::autocast::is_cpu_enabled()) {
    return fused_cpu_attention(q, k_in, v_in, mask);
  }
#endif
  const auto repeat_heads = [&](const torch::Tensor& x) {
    if (groups == 1) return x;
    const auto b = x.size(0), kv = x.size(1), t = x.size(2), d = x.size(3);
    return x.unsqueeze(2).expand({b, kv, groups, t, d}).reshape({b, kv * groups, t, d});
  };
  const auto k = repeat_heads(k_in), v = repeat_heads(v_in);
#if TROL_TORCH_AT_LEAST(2, 0)
  if (!mask.defined()) return at::scaled_dot_product_attention(q, k, v, {}, 0.0, is_causal);
  return at::scaled_dot_product_attention(q, k, v, mask);
#else
  // The scale goes on q (seq x head_dim) rather than on the scores (seq x seq): at long
  // sequences that saves a pass over the largest tensor forward and another backward.
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  auto scores = torch::matmul(q * scale, k.transpose(-2, -1));
  if (mask.defined()) scores.add_(mask);
  return torch::matmul(torch::softmax(scores, -1), v);
#endif
}

// Whether autocast is on for `device` (CPU or CUDA), and in which dtype; nullopt when off.
// LibTorch 2.4 names the switches per device type; 1.13 to 2.3 have one pair per backend.
inline std::optional<torch::ScalarType> autocast_dtype(torch::DeviceType device) {
#if TROL_TORCH_AT_LEAST(2, 4)
  if (!at::autocast::is_autocast_enabled(device)) return std::nullopt;
  return at::autocast::get_autocast_dtype(device);
#else
  if (device == torch::kCUDA) {
    if (!at::autocast::is_enabled()) return std::nullopt;
    return at::autocast::get_autocast_gpu_dtype();
  }
  if (!at::autocast::is_cpu_enabled()) return std::nullopt;
  return at::autocast::get_autocast_cpu_dtype();
#endif
}

// Autocast (mixed precision) on `device` in `dtype` for the guard's lifetime, or off there
// where `dtype` is nullopt: matrix products run in the low precision, reductions and losses
// in float32, parameters stay as they are. The previous state comes back at the end.
class AutocastGuard {
 public:
  AutocastGuard(torch::DeviceType device, std::optional<torch::ScalarType> dtype)
      : device_(device), previous_(autocast_dtype(device)) {
    set(dtype);
    at::autocast::increment_nesting();
  }
  ~AutocastGuard() {
    // Casts of the weights are cached while autocast is on; the outermost guard drops them
    // (they would be stale after the optimizer step).
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    set(previous_);
  }
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  void set(std::optional<torch::ScalarType> dtype) const {
#if TROL_TORCH_AT_LEAST(2, 4)
    if (dtype) at::autocast::set_autocast_dtype(device_, *dtype);
    at::autocast::set_autocast_enabled(device_, dtype.has_value());
#else
    if (device_ == torch::kCUDA) {
      if (dtype) at::autocast::set_autocast_gpu_dtype(*dtype);
      at::autocast::set_enabled(dtype.has_value());
    } else {
      if (dtype) at::autocast::set_autocast_cpu_dtype(*dtype);
      at::autocast::set_cpu_enabled(dtype.has_value());
    }
#endif
  }

  torch::DeviceType device_;
  std::optional<torch::ScalarType> previous_;
};

}  // namespace trol::compat
