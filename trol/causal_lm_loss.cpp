#include "trol/causal_lm_loss.h"

#include "trol/fused_cpu_ops.h"
#include "trol/fused_cross_entropy_cpu.h"

#include <algorithm>

namespace trol {

LmLoss causal_lm_loss(const torch::Tensor& logits, const torch::Tensor& labels, int64_t chunk_elements) {
  const int64_t vocab = logits.size(-1);
  const int64_t seq = logits.size(1);
  const auto shifted_labels = labels.narrow(1, 1, seq - 1).reshape({-1});
  torch::Tensor sum;
  if (fused_cpu_applies(logits)) {
    sum = fused_cpu_causal_lm_loss_sum(logits, labels);
  } else {
    // The labels move one place left instead of the logits (position t is scored against
    // label t+1, the last position against nothing), so the logits stay a view; and the
    // float32 copy that cross-entropy needs is made a chunk of rows at a time. For a large
    // vocabulary (InternLM2's 92,544) the whole [batch x seq, vocab] copy would be gigabytes.
    auto targets = torch::full_like(labels, kIgnoreIndex);
    targets.narrow(1, 0, seq - 1).copy_(labels.narrow(1, 1, seq - 1));
    const auto flat_logits = logits.reshape({-1, vocab});
    const auto flat_targets = targets.reshape({-1});
    const auto loss_dtype = torch::promote_types(logits.scalar_type(), torch::kFloat32);
    const int64_t rows = flat_logits.size(0), chunk = std::max<int64_t>(1, chunk_elements / std::max<int64_t>(vocab, 1));
    namespace F = torch::nn::functional;
    const auto options = F::CrossEntropyFuncOptions().ignore_index(kIgnoreIndex).reduction(torch::kSum);
    for (int64_t start = 0; start < rows; start += chunk) {
      const int64_t n = std::min(chunk, rows - start);
      const auto part = F::cross_entropy(flat_logits.narrow(0, start, n).to(loss_dtype), flat_targets.narrow(0, start, n), options);
      sum = sum.defined() ? sum + part : part;
    }
  }
  const auto count = shifted_labels.ne(kIgnoreIndex).sum();
  return {sum, count, sum / count.clamp_min(1).to(sum.scalar_type())};
}

}  // namespace trol
