// Fused CPU kernels for the element-wise blocks that run most often in a decoder layer
// (twice or four times per layer under TroL): RMSNorm, the rotary embedding, and the
// SiLU-gated product of the fused gate_up projection. Eager LibTorch runs RMSNorm as ~5
// kernels forward and ~10 backward, the rotary embedding as 5 plus a layout copy, and
// SiLU-gating as 2 forward and 5 backward (with a zero-filled buffer for the chunk's
// gradient), each a full pass over memory; these run one or two passes each way, with
// hand-derived backward passes. LibTorch has no such fused CPU ops (1.13 nor 2.x), hence
// written here.
//
// They apply to float32 CPU tensors (`fused_cpu_applies`); every other case (CUDA, bf16,
// float64 gradient checks) keeps the composite LibTorch ops, which tests compare them with.
#pragma once

#include <torch/torch.h>

namespace trol {

// On by default; runtime.fused_cpu_kernels turns them off process-wide (benchmarks compare).
// The switch also covers the fused AdamW step (train/fused_adamw.h), attention
// (trol/fused_attention_cpu.h), the language-model loss (trol/fused_cross_entropy_cpu.h) and
// the one-row matrix-vector path of linear layers (trol/linear_map.h).
void set_fused_cpu_kernels(bool enabled);
bool fused_cpu_kernels_enabled();

// True when the fused kernels are on and `x` is a non-empty float32 CPU tensor.
bool fused_cpu_applies(const torch::Tensor& x);

// weight * x / sqrt(mean(x^2 over the last dim) + eps)
torch::Tensor fused_rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps);

// Rotary embedding of x [B, H, T, d] with cos/sin tables [B, T, d] (rotate-half convention),
// returned contiguous (the layout attention's matrix products want).
torch::Tensor fused_rotary(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin);

// [..., 2f] -> [..., f]: silu(first half) * second half
torch::Tensor fused_silu_gate(const torch::Tensor& gate_up);

}  // namespace trol
