#include "trol/causal_lm_loss.h"

#include "trol/fused_cpu_ops.h"
#include "trol/fused_cross_entropy_cpu.h"

namespace trol {

LmLoss causal_lm_loss(const torch::Tensor& logits, const torch::Tensor& labels) {
  const int64_t vocab = logits.size(-1);
  const int64_t seq = logits.size(1);
  const auto shifted_labels = labels.narrow(1, 1, seq - 1).reshape({-1});
  torch::Tensor sum;
  if (fused_cpu_applies(logits)) {
    sum = fused_cpu_causal_lm_loss_sum(logits, labels);
  } else {
    const auto shifted_logits = logits.narrow(1, 0, seq - 1).reshape({-1, vocab});
    const auto loss_logits = shifted_logits.to(torch::promote_types(logits.scalar_type(), torch::kFloat32));
    namespace F = torch::nn::functional;
    sum = F::cross_entropy(loss_logits, shifted_labels,
                           F::CrossEntropyFuncOptions().ignore_index(kIgnoreIndex).reduction(torch::kSum));
  }
  const auto count = shifted_labels.ne(kIgnoreIndex).sum();
  return {sum, count, sum / count.clamp_min(1).to(sum.scalar_type())};
}

}  // namespace trol
