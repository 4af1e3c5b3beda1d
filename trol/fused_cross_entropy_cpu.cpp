#include "trol/fused_cross_entropy_cpu.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "trol/causal_lm_loss.h"
#include "trol/cpu_vector_math.h"

namespace trol {
namespace {

using namespace cpu_vector;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

constexpr int64_t kVocabRowsPerTask = 4;

// log(sum_i exp(row_i)), with the maximum taken out first.
TROL_CPU_KERNEL float log_sum_exp_row(const float* __restrict row, int64_t n) {
  const int64_t body = n - n % kLanes;
  Floats lane_max = splat(std::numeric_limits<float>::lowest());
  for (int64_t i = 0; i < body; i += kLanes) {
    const Floats x = load(row + i);
    lane_max = x > lane_max ? x : lane_max;
  }
  float max = horizontal_max(lane_max);
  for (int64_t i = body; i < n; ++i) max = row[i] > max ? row[i] : max;
  Floats lane_sum = splat(0.0f);
  for (int64_t i = 0; i < body; i += kLanes) lane_sum += exp_nonpositive(load(row + i) - max);
  double sum = horizontal_sum(lane_sum);
  for (int64_t i = body; i < n; ++i) sum += exp_nonpositive(row[i] - max);
  return max + static_cast<float>(std::log(sum));
}

// grad = scale * softmax(row) (the caller subtracts the one-hot), softmax = exp(row - lse).
TROL_CPU_KERNEL void softmax_grad_row(float* __restrict grad, const float* __restrict row, int64_t n, float lse,
                                      float scale) {
  const int64_t body = n - n % kLanes;
  for (int64_t i = 0; i < body; i += kLanes) store(grad + i, exp_nonpositive(load(row + i) - lse) * scale);
  for (int64_t i = body; i < n; ++i) grad[i] = exp_nonpositive(row[i] - lse) * scale;
}

// What prediction row (b, t) is scored against: the label at position t + 1, or kIgnoreIndex
// for the last position.
struct ShiftedLabels {
  const int64_t* data;
  int64_t label_stride_b, label_stride_t, seq;

  int64_t at(int64_t row) const {
    const int64_t b = row / seq, t = row % seq;
    return t == seq - 1 ? kIgnoreIndex : data[b * label_stride_b + (t + 1) * label_stride_t];
  }
};

class CausalLmLossFunction : public torch::autograd::Function<CausalLmLossFunction> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& logits_in, const torch::Tensor& labels_in) {
    const auto logits = logits_in.contiguous();
    const auto labels = labels_in.to(torch::kLong);
    const int64_t seq = logits.size(1), vocab = logits.size(2), rows = logits.size(0) * seq;
    const ShiftedLabels shifted{labels.data_ptr<int64_t>(), labels.stride(0), labels.stride(1), seq};
    auto log_sum_exps = torch::empty({rows}, logits.options());
    const float* xp = logits.data_ptr<float>();
    float* lp = log_sum_exps.data_ptr<float>();
    // Per-task partial sums in a fixed order: the loss does not depend on the thread count.
    const int64_t tasks = (rows + kVocabRowsPerTask - 1) / kVocabRowsPerTask;
    std::vector<double> partial(static_cast<size_t>(tasks), 0.0);
    at::parallel_for(0, tasks, 1, [&](int64_t task_begin, int64_t task_end) {
      for (int64_t task = task_begin; task < task_end; ++task) {
        for (int64_t r = task * kVocabRowsPerTask; r < std::min(rows, (task + 1) * kVocabRowsPerTask); ++r) {
          const int64_t label = shifted.at(r);
          if (label == kIgnoreIndex) continue;
          TORCH_CHECK(label >= 0 && label < vocab, "causal_lm_loss: label ", label, " at position ", r % seq + 1,
                      " is outside the vocabulary of ", vocab);
          const float* row = xp + r * vocab;
          lp[r] = log_sum_exp_row(row, vocab);
          partial[task] += static_cast<double>(lp[r]) - row[label];
        }
      }
    });
    double sum = 0;
    for (double p : partial) sum += p;
    ctx->save_for_backward({logits, labels, log_sum_exps});
    return torch::tensor(static_cast<float>(sum), logits.options());
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &logits = saved[0], &labels = saved[1], &log_sum_exps = saved[2];
    const int64_t seq = logits.size(1), vocab = logits.size(2), rows = logits.size(0) * seq;
    const ShiftedLabels shifted{labels.data_ptr<int64_t>(), labels.stride(0), labels.stride(1), seq};
    const auto scale = grads[0].item<float>();  // a 0-dim CPU tensor: no device sync
    auto grad = torch::empty_like(logits);
    const float* xp = logits.data_ptr<float>();
    const float* lp = log_sum_exps.data_ptr<float>();
    float* gp = grad.data_ptr<float>();
    at::parallel_for(0, rows, kVocabRowsPerTask, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        float* g = gp + r * vocab;
        const int64_t label = shifted.at(r);
        if (label == kIgnoreIndex) {
          std::fill(g, g + vocab, 0.0f);
          continue;
        }
        softmax_grad_row(g, xp + r * vocab, vocab, lp[r], scale);
        g[label] -= scale;
      }
    });
    return {grad, torch::Tensor()};
  }
};

}  // namespace

torch::Tensor fused_cpu_causal_lm_loss_sum(const torch::Tensor& logits, const torch::Tensor& labels) {
  TORCH_CHECK(logits.device().is_cpu() && logits.scalar_type() == torch::kFloat32 && labels.device().is_cpu(),
              "fused_cpu_causal_lm_loss_sum: float32 CPU logits only");
  TORCH_CHECK(logits.dim() == 3 && labels.dim() == 2 && logits.size(0) == labels.size(0) &&
                  logits.size(1) == labels.size(1) && logits.size(2) > 0,
              "fused_cpu_causal_lm_loss_sum: logits ", logits.sizes(), " and labels ", labels.sizes(),
              " need [B, S, V] and [B, S]");
  TORCH_CHECK(!c10::isFloatingType(labels.scalar_type()), "fused_cpu_causal_lm_loss_sum: labels must be integers");
  return CausalLmLossFunction::apply(logits, labels);
}

}  // namespace trol
