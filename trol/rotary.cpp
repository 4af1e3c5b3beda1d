#include "trol/rotary.h"

#include "trol/fused_cpu_ops.h"

namespace trol {

RotaryTables rotary_tables(const torch::Tensor& positions, int64_t head_dim, double theta,
                           torch::ScalarType dtype) {
  const auto opts = torch::TensorOptions().dtype(torch::kFloat32).device(positions.device());
  const auto exponents = torch::arange(0, head_dim, 2, opts) / static_cast<double>(head_dim);
  const auto inv_freq = torch::pow(theta, exponents).reciprocal();                 // [head_dim/2]
  const auto freqs = positions.to(torch::kFloat32).unsqueeze(-1) * inv_freq;      // [B, T, head_dim/2]
  const auto angles = torch::cat({freqs, freqs}, -1);                             // [B, T, head_dim]
  return {angles.cos().to(dtype), angles.sin().to(dtype)};
}

torch::Tensor apply_rotary(const torch::Tensor& x, const RotaryTables& tables) {
  const auto& table = tables.cos;
  if (fused_cpu_applies(x) && x.dim() == 4 && table.dim() == 3 && table.scalar_type() == torch::kFloat32 &&
      table.size(0) == x.size(0) && table.size(1) == x.size(2) && table.size(2) == x.size(3)) {
    return fused_rotary(x, tables.cos, tables.sin);
  }
  const int64_t half = x.size(-1) / 2;
  const auto x1 = x.narrow(-1, 0, half);
  const auto x2 = x.narrow(-1, half, half);
  const auto rotated = torch::cat({-x2, x1}, -1);
  const auto cos = tables.cos.unsqueeze(1);  // broadcast over heads
  const auto sin = tables.sin.unsqueeze(1);
  return x * cos + rotated * sin;
}

torch::Tensor positions_from_mask(const torch::Tensor& attention_mask) {
  return (attention_mask.to(torch::kLong).cumsum(-1) - 1).clamp_min(0);
}

}  // namespace trol
