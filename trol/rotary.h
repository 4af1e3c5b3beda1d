// Rotary position embedding, in the Hugging Face "rotate half" convention: the head
// dimension is split into two halves (not interleaved pairs), and
//   rope(x) = x * cos + rotate_half(x) * sin,   rotate_half([x1, x2]) = [-x2, x1],
// with frequencies theta^(-2i/d) repeated over both halves.
#pragma once

#include <torch/torch.h>

#include "trol/model_config.h"

namespace trol {

struct RotaryTables {
  torch::Tensor cos;  // [batch, seq, head_dim]
  torch::Tensor sin;  // [batch, seq, head_dim]
};

// cos/sin for integer `positions` [batch, seq], computed in float32 and cast to `dtype`.
RotaryTables rotary_tables(const torch::Tensor& positions, int64_t head_dim, double theta,
                           torch::ScalarType dtype);

// The tables of `llm`'s RoPE (plain, or Phi-3's longrope) for `positions` of a forward call
// whose positions are all below `length_bound` (the attention mask's length): longrope picks
// its factor list by the call's longest position, which costs a host sync only when
// length_bound exceeds original_max_position_embeddings.
RotaryTables rotary_tables(const torch::Tensor& positions, const LlmConfig& llm, int64_t length_bound,
                           torch::ScalarType dtype);

// Applies the rotation to `x` [batch, heads, seq, head_dim].
torch::Tensor apply_rotary(const torch::Tensor& x, const RotaryTables& tables);

// Positions of a (left- or right-) padded batch: 0, 1, 2, ... over the real tokens of each row.
torch::Tensor positions_from_mask(const torch::Tensor& attention_mask);

}  // namespace trol
