// The causal language-model loss on float32 CPU logits in one pass each way. LibTorch runs
// it as a copy of the shifted logits, a log-softmax into a new [tokens, vocab] tensor, the
// NLL loss, and backward a zero-filled gradient, a scatter, the log-softmax's backward and a
// slice's zero-filled backward: ~0.5 s of the medium bench step's ~7.5 s at Phi-3's 32k
// vocabulary (BENCHMARKS.md). Here the forward reads each row once (log-sum-exp and the
// label's logit) and the backward writes softmax - one-hot once; rows without a label cost
// only their zeros.
#pragma once

#include <torch/torch.h>

namespace trol {

// Sum over supervised positions of -log softmax(logits[b, t])[labels[b, t + 1]], labels of
// -100 ignored; logits [B, S, V] float32 on CPU, labels [B, S] integer. A 0-dim float32 tensor,
// differentiable in logits. A label outside [0, V) is an error.
torch::Tensor fused_cpu_causal_lm_loss_sum(const torch::Tensor& logits, const torch::Tensor& labels);

}  // namespace trol
