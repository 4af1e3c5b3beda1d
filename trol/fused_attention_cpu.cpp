#include "trol/fused_attention_cpu.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <cstdint>
#include <limits>

#include "trol/cpu_vector_math.h"

namespace trol {
namespace {

using namespace cpu_vector;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

constexpr int64_t kScoreRowsPerTask = 64;

// row = softmax(scale * row + mask) in place; mask may be null.
TROL_CPU_KERNEL void softmax_row(float* __restrict row, const float* __restrict mask, int64_t n, float scale) {
  const int64_t body = n - n % kLanes;
  Floats lane_max = splat(std::numeric_limits<float>::lowest());
  for (int64_t i = 0; i < body; i += kLanes) {
    Floats x = load(row + i) * scale;
    if (mask) x += load(mask + i);
    store(row + i, x);
    lane_max = x > lane_max ? x : lane_max;
  }
  float max = horizontal_max(lane_max);
  for (int64_t i = body; i < n; ++i) {
    row[i] = scale * row[i] + (mask ? mask[i] : 0.0f);
    max = row[i] > max ? row[i] : max;
  }
  Floats lane_sum = splat(0.0f);
  for (int64_t i = 0; i < body; i += kLanes) {
    const Floats e = exp_nonpositive(load(row + i) - max);
    store(row + i, e);
    lane_sum += e;
  }
  double sum = horizontal_sum(lane_sum);
  for (int64_t i = body; i < n; ++i) {
    row[i] = exp_nonpositive(row[i] - max);
    sum += row[i];
  }
  const Floats inverse = splat(static_cast<float>(1.0 / sum));
  for (int64_t i = 0; i < body; i += kLanes) store(row + i, load(row + i) * inverse);
  for (int64_t i = body; i < n; ++i) row[i] *= inverse[0];
}

// Softmax backward with the attention scale folded in: grad = scale * p * (grad - row_dot),
// in place, where row_dot = sum_j p_j grad_j (= dO . O for the row, computed by the caller).
TROL_CPU_KERNEL void softmax_backward_row(float* __restrict grad, const float* __restrict p, int64_t n,
                                          float row_dot, float scale) {
  const int64_t body = n - n % kLanes;
  for (int64_t i = 0; i < body; i += kLanes) store(grad + i, load(p + i) * (load(grad + i) - row_dot) * scale);
  for (int64_t i = body; i < n; ++i) grad[i] = p[i] * (grad[i] - row_dot) * scale;
}

// Scores are [B, Hkv, G * Tq, Tk]: row r is batch b, key/value head kv, query head
// kv * G + g, query t. This gives the mask row each score row adds.
struct MaskRows {
  const float* data = nullptr;
  int64_t batch_stride = 0, head_stride = 0, query_stride = 0;
  int64_t kv_heads = 0, groups = 0, queries = 0;

  const float* row(int64_t r) const {
    if (!data) return nullptr;
    const int64_t t = r % queries, g = (r / queries) % groups, kv = (r / (queries * groups)) % kv_heads;
    const int64_t b = r / (queries * groups * kv_heads);
    return data + b * batch_stride + (kv * groups + g) * head_stride + t * query_stride;
  }
};

// The mask is not an input of the autograd graph (it has no gradient); LibTorch 1.13's
// Function::apply cannot take an undefined tensor as an input, so it travels wrapped.
struct ConstantMask {
  torch::Tensor additive;
};

class AttentionFunction : public torch::autograd::Function<AttentionFunction> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& q_in, const torch::Tensor& k_in,
                               const torch::Tensor& v_in, const ConstantMask& mask_in) {
    const int64_t batch = q_in.size(0), heads = q_in.size(1), queries = q_in.size(2), d = q_in.size(3);
    const int64_t kv_heads = k_in.size(1), keys = k_in.size(2), groups = heads / kv_heads;
    const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(d)));
    // Query heads of one key/value head are consecutive, so they stack into one matrix product.
    const auto q = q_in.contiguous().view({batch, kv_heads, groups * queries, d});
    // k and v stay as they are: while decoding they are views of the KV cache (its capacity
    // past the filled length), and a copy would cost a pass over the whole cache per token.
    const auto& k = k_in;
    const auto& v = v_in;
    auto probabilities = torch::matmul(q, k.transpose(-2, -1));  // [B, Hkv, G*Tq, Tk]

    MaskRows mask_rows;
    torch::Tensor mask;
    if (mask_in.additive.defined()) {
      mask = mask_in.additive.to(torch::kFloat32).expand({batch, heads, queries, keys});
      if (mask.stride(3) != 1) mask = mask.contiguous();
      mask_rows = {mask.data_ptr<float>(), mask.stride(0), mask.stride(1), mask.stride(2), kv_heads, groups, queries};
    }
    float* pp = probabilities.data_ptr<float>();
    at::parallel_for(0, probabilities.numel() / keys, kScoreRowsPerTask, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) softmax_row(pp + r * keys, mask_rows.row(r), keys, scale);
    });
    const auto out = torch::matmul(probabilities, v);  // [B, Hkv, G*Tq, d]
    ctx->save_for_backward({q, k, v, probabilities, out});
    ctx->saved_data["scale"] = static_cast<double>(scale);
    return out.view({batch, heads, queries, v.size(3)});
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &q = saved[0], &k = saved[1], &v = saved[2], &probabilities = saved[3], &out = saved[4];
    const auto scale = static_cast<float>(ctx->saved_data["scale"].toDouble());
    const auto grad_out = grads[0].contiguous().view(out.sizes());
    const auto grad_v = torch::matmul(probabilities.transpose(-2, -1), grad_out);
    auto grad_scores = torch::matmul(grad_out, v.transpose(-2, -1));  // dP, becomes dS in place
    // sum_j P_ij dP_ij = dO_i . O_i: one short dot per row instead of a pass over the scores.
    const auto row_dots = (grad_out * out).sum(-1).contiguous();
    const int64_t keys = probabilities.size(-1);
    float* gp = grad_scores.data_ptr<float>();
    const float* pp = probabilities.data_ptr<float>();
    const float* dp = row_dots.data_ptr<float>();
    at::parallel_for(0, grad_scores.numel() / keys, kScoreRowsPerTask, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) softmax_backward_row(gp + r * keys, pp + r * keys, keys, dp[r], scale);
    });
    const auto grad_q = torch::matmul(grad_scores, k);
    const auto grad_k = torch::matmul(grad_scores.transpose(-2, -1), q);
    const auto& g = grads[0];
    return {grad_q.view({g.size(0), g.size(1), g.size(2), q.size(3)}), grad_k, grad_v, torch::Tensor()};
  }
};

}  // namespace

torch::Tensor fused_cpu_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                  const torch::Tensor& additive_mask) {
  TORCH_CHECK(q.device().is_cpu() && q.scalar_type() == torch::kFloat32 && k.scalar_type() == torch::kFloat32 &&
                  v.scalar_type() == torch::kFloat32 && k.device().is_cpu() && v.device().is_cpu(),
              "fused_cpu_attention: float32 CPU tensors only");
  TORCH_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4 && v.sizes().slice(0, 3) == k.sizes().slice(0, 3) &&
                  q.size(0) == k.size(0) &&
                  q.size(3) == k.size(3) && k.size(1) > 0 && k.size(2) > 0 && q.size(1) % k.size(1) == 0,
              "fused_cpu_attention: q ", q.sizes(), " and k, v ", k.sizes(), ", ", v.sizes(),
              " need [B, H, Tq, d] and [B, Hkv, Tk, d] with H a multiple of Hkv");
  return AttentionFunction::apply(q, k, v, ConstantMask{additive_mask});
}

}  // namespace trol
