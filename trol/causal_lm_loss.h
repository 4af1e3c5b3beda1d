// Causal language-model loss: token t predicts label t+1; labels -100 are ignored.
#pragma once

#include <torch/torch.h>

namespace trol {

constexpr int64_t kIgnoreIndex = -100;

struct LmLoss {
  torch::Tensor sum;         // summed cross-entropy over supervised tokens (at least float32)
  torch::Tensor num_tokens;  // count of supervised tokens (int64 scalar, a tensor: no host sync)
  torch::Tensor mean;        // sum / max(num_tokens, 1)
};

// logits [batch, seq, vocab], labels [batch, seq] aligned with the inputs (shifted here).
// The sum and count are kept apart so a trainer can normalise by the global token count
// across micro-batches and ranks. Outside trol's fused CPU kernel the cross-entropy runs on
// chunks of at most `chunk_elements` logits (rows of the vocabulary), each in float32.
constexpr int64_t kLossChunkElements = int64_t{1} << 26;  // 256 MiB of float32 logits
LmLoss causal_lm_loss(const torch::Tensor& logits, const torch::Tensor& labels,
                      int64_t chunk_elements = kLossChunkElements);

}  // namespace trol
