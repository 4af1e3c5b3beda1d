#include "trol/rotary.h"

#include "trol/fused_cpu_ops.h"

#include <cmath>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace trol {

namespace {

// `factors` as a float32 tensor on `device`, copied there once per list and device: a copy at
// every forward (every decoded token) would be a host-to-device transfer and a sync.
const torch::Tensor& factors_on(const std::vector<double>& factors, torch::Device device) {
  static std::mutex mutex;
  static std::map<std::pair<std::string, std::vector<double>>, torch::Tensor> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto& tensor = cache[{device.str(), factors}];
  if (!tensor.defined()) tensor = torch::tensor(factors, torch::kFloat32).to(device);
  return tensor;
}

// `factors` (empty: none) divide the frequencies; `scale` multiplies cos and sin.
RotaryTables scaled_tables(const torch::Tensor& positions, int64_t head_dim, double theta,
                           const std::vector<double>& factors, double scale, torch::ScalarType dtype) {
  const auto opts = torch::TensorOptions().dtype(torch::kFloat32).device(positions.device());
  const auto exponents = torch::arange(0, head_dim, 2, opts) / static_cast<double>(head_dim);
  auto denominators = torch::pow(theta, exponents);                                // [head_dim/2]
  if (!factors.empty()) denominators = denominators * factors_on(factors, positions.device());
  const auto inv_freq = denominators.reciprocal();
  const auto freqs = positions.to(torch::kFloat32).unsqueeze(-1) * inv_freq;      // [B, T, head_dim/2]
  const auto angles = torch::cat({freqs, freqs}, -1);                             // [B, T, head_dim]
  if (scale == 1.0) return {angles.cos().to(dtype), angles.sin().to(dtype)};
  return {(angles.cos() * scale).to(dtype), (angles.sin() * scale).to(dtype)};
}

}  // namespace

RotaryTables rotary_tables(const torch::Tensor& positions, int64_t head_dim, double theta,
                           torch::ScalarType dtype) {
  return scaled_tables(positions, head_dim, theta, {}, 1.0, dtype);
}

double dynamic_ntk_base(const LlmConfig& llm, int64_t key_length) {
  const int64_t limit = llm.max_position_embeddings;
  if (key_length <= limit) return llm.rope_theta;
  // In double precision, as the authors' Python computes the base before building the float32 table.
  const double factor = llm.rope_scaling.factor;
  const auto head_dim = static_cast<double>(llm.head_dim());
  return llm.rope_theta * std::pow(factor * static_cast<double>(key_length) / static_cast<double>(limit) - (factor - 1.0),
                                   head_dim / (head_dim - 2.0));
}

RotaryTables rotary_tables(const torch::Tensor& positions, const LlmConfig& llm, int64_t length_bound,
                           torch::ScalarType dtype) {
  const auto& scaling = llm.rope_scaling;
  if (scaling.type == "none") return rotary_tables(positions, llm.head_dim(), llm.rope_theta, dtype);
  if (scaling.type == "dynamic") {
    return rotary_tables(positions, llm.head_dim(), dynamic_ntk_base(llm, length_bound), dtype);
  }
  // Phi-3's code (and transformers' longrope): long factors once max(position_ids) + 1 exceeds
  // the original length, per forward call, so a cached decode switches lists at that step.
  const int64_t original = scaling.original_max_position_embeddings;
  const bool long_context =
      length_bound > original && positions.numel() > 0 && positions.max().item<int64_t>() + 1 > original;
  const double ratio = static_cast<double>(llm.max_position_embeddings) / static_cast<double>(original);
  const double scale = ratio <= 1.0 ? 1.0 : std::sqrt(1.0 + std::log(ratio) / std::log(static_cast<double>(original)));
  return scaled_tables(positions, llm.head_dim(), llm.rope_theta,
                       long_context ? scaling.long_factor : scaling.short_factor, scale, dtype);
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
