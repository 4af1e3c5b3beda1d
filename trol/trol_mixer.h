// The TroL-Mixer (Lee et al., EMNLP 2024): after a layer L has been traversed twice,
//   h1 = L(x),  h2 = L(h1),
//   w  = 0.5 * tanh(G(h1)) + 0.5        (TroL-Gating: G = Linear(hidden, 1), per token)
//   y  = (1 - w) * h1 + w * h2          (token-wise mix)
// so w in [0, 1] says, per token, how much of the second traversal to keep.
#pragma once

#include <torch/torch.h>

namespace trol {

// The mixing ratio w [batch, seq, 1] of gate `gate` for the first-pass output h1.
torch::Tensor trol_gate_ratio(torch::nn::Linear& gate, const torch::Tensor& h1);

// (1 - w) * h1 + w * h2, as one fused lerp: exact at w = 0 (h1) and w = 1 (h2).
torch::Tensor trol_mix(const torch::Tensor& h1, const torch::Tensor& h2, const torch::Tensor& w);

}  // namespace trol
