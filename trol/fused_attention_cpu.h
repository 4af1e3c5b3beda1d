// Attention on float32 CPU tensors for LibTorch versions without a fused CPU kernel (1.13;
// 2.x has at::scaled_dot_product_attention's). The two matrix products stay BLAS calls; what
// this fuses is everything between them: the scale, the additive mask and the softmax are one
// pass over the scores in place, and the softmax's backward one pass as well. LibTorch 1.13
// runs these as a mask add, a softmax into a new tensor and a softmax backward, ~3.5x the
// time for the medium bench config's [16, 1024, 1024] scores (BENCHMARKS.md). Grouped-query
// heads are read where they are, without repeating keys and values per query head.
#pragma once

#include <torch/torch.h>

namespace trol {

// softmax(q k^T / sqrt(d) + additive_mask) v.
// q [B, H, Tq, d]; k, v [B, Hkv, Tk, d] with H a multiple of Hkv (query head h reads key/value
// head h / (H / Hkv)); additive_mask undefined or broadcastable to [B, H, Tq, Tk].
// Returns [B, H, Tq, d] contiguous. Differentiable in q, k and v.
torch::Tensor fused_cpu_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                  const torch::Tensor& additive_mask);

}  // namespace trol
