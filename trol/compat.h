// Every difference between the LibTorch versions trol builds against lives here:
// Debian's LibTorch 1.13 (CPU, CI) and CUDA LibTorch 2.x (users' GPU machines).
#pragma once

#include <torch/torch.h>
#include <torch/version.h>

#include <sstream>
#include <string>

#define TROL_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

namespace trol::compat {

// The key under which LibTorch's optimizers keep a parameter's state: its TensorImpl's
// address as an ostream prints it (c10::guts::to_string in 1.13 and 2.x, which later
// versions deprecate).
inline std::string optimizer_state_key(const torch::Tensor& parameter) {
  std::ostringstream key;
  key << parameter.unsafeGetTensorImpl();
  return key.str();
}

// softmax(q k^T / sqrt(d) + additive_mask) v over [batch, heads, seq, head_dim].
// `additive_mask` broadcasts to [batch, heads, q_len, k_len] and holds 0 or a large negative
// number; undefined means no mask (which lets 2.x pick its flash kernel on CUDA).
// LibTorch 2.x has fused kernels (flash / memory-efficient on CUDA); 1.13 does not.
inline torch::Tensor scaled_dot_product_attention(const torch::Tensor& q, const torch::Tensor& k,
                                                  const torch::Tensor& v,
                                                  const torch::Tensor& additive_mask) {
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

}  // namespace trol::compat
