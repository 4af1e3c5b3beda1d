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

// The tables of `llm`'s RoPE (plain, Phi-3's longrope or InternLM2's dynamic NTK) for `positions`
// of a forward call whose positions are all below `length_bound` (the attention mask's length:
// cached plus new tokens, padding included). longrope picks its factor list by the call's
// longest position, which costs a host sync only when length_bound exceeds
// original_max_position_embeddings; dynamic takes its base from length_bound (dynamic_ntk_base).
//
// Both follow the authors' modeling code under KV-cached decoding: the tables are those of the
// call, applied to its new tokens only, so cached keys keep the rotation they were cached with
// (keys cached before a decode crossed the limit stay rotated with the plain base / short
// factors). Past the limit, cached decoding therefore differs from re-running the whole sequence.
RotaryTables rotary_tables(const torch::Tensor& positions, const LlmConfig& llm, int64_t length_bound,
                           torch::ScalarType dtype);

// InternLM2's dynamic NTK base for a call over `key_length` keys (InternLM2DynamicNTKScalingRotary-
// Embedding): rope_theta up to max_position_embeddings M, beyond it
// rope_theta * (factor * key_length / M - (factor - 1))^(head_dim / (head_dim - 2)).
// (The authors' module also keeps its largest table between calls, so a later, shorter sequence
// there reuses a rescaled base; trol computes each call from its own length, as a freshly loaded
// model of theirs does.)
double dynamic_ntk_base(const LlmConfig& llm, int64_t key_length);

// Applies the rotation to `x` [batch, heads, seq, head_dim].
torch::Tensor apply_rotary(const torch::Tensor& x, const RotaryTables& tables);

// Positions of a (left- or right-) padded batch: 0, 1, 2, ... over the real tokens of each row.
torch::Tensor positions_from_mask(const torch::Tensor& attention_mask);

}  // namespace trol
