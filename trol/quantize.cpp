#include "trol/quantize.h"

#include "trol/config_reader.h"

#include <map>
#include <mutex>
#include <string>

namespace trol {

QuantizeMode parse_quantize_mode(const std::string& text, const std::string& key) {
  if (text == "none") return QuantizeMode::none;
  if (text == "nf4") return QuantizeMode::nf4;
  if (text == "int8") return QuantizeMode::int8;
  throw ConfigError(key + ": expected none, nf4 or int8, got '" + text + "'");
}

const std::array<float, 16>& nf4_levels() {
  static const std::array<float, 16> levels{
      -1.0f,           -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
      -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
      0.07958029955625534f,  0.16093020141124725f,  0.24611230194568634f,  0.33791524171829224f,
      0.44070982933044434f,  0.5626170039176941f,   0.7229568362236023f,   1.0f};
  return levels;
}

namespace {

torch::Tensor levels_tensor() {
  const auto& l = nf4_levels();
  return torch::from_blob(const_cast<float*>(l.data()), {16}, torch::kFloat32).clone();
}

// The level table on `device`, copied there once: a copy per dequantization would be a
// host-to-device transfer and a sync in every quantized layer's forward and backward.
const torch::Tensor& levels_on(torch::Device device) {
  static std::mutex mutex;
  static std::map<std::string, torch::Tensor> tables;
  std::lock_guard<std::mutex> lock(mutex);
  auto& table = tables[device.str()];
  if (!table.defined()) table = levels_tensor().to(device);
  return table;
}

// Pads a flat tensor with zeros to a multiple of `multiple`.
torch::Tensor padded(const torch::Tensor& flat, int64_t multiple) {
  const auto rest = (multiple - flat.numel() % multiple) % multiple;
  return rest == 0 ? flat : torch::cat({flat, torch::zeros({rest}, flat.options())});
}

}  // namespace

Nf4Weight quantize_nf4(const torch::Tensor& weight) {
  if (!weight.defined() || weight.numel() == 0) throw std::invalid_argument("quantize_nf4: an empty weight");
  if (!weight.is_floating_point()) throw std::invalid_argument("quantize_nf4: a floating-point weight is needed");
  torch::NoGradGuard no_grad;
  Nf4Weight q;
  q.shape = weight.sizes().vec();
  const auto flat = weight.detach().to(torch::kCPU, torch::kFloat32).flatten();
  const auto blocks = padded(flat, kNf4BlockSize).view({-1, kNf4BlockSize});
  const auto block_max = blocks.abs().amax(1);
  // An all-zero block divides by 1: its values are 0, level 7, whatever the maximum.
  const auto normalized = blocks / block_max.clamp_min(std::numeric_limits<float>::min()).unsqueeze(1);
  const auto levels = levels_tensor();
  const auto midpoints = (levels.narrow(0, 0, 15) + levels.narrow(0, 1, 15)) / 2;
  auto index = torch::bucketize(normalized.flatten(), midpoints).to(torch::kUInt8);  // nearest level
  index = padded(index.narrow(0, 0, flat.numel()), 2).view({-1, 2});
  q.codes = index.select(1, 0).bitwise_or(index.select(1, 1).bitwise_left_shift(4)).contiguous();

  q.block_max_offset = block_max.mean();
  const auto centred = padded(block_max - q.block_max_offset, kNf4ScaleBlockSize).view({-1, kNf4ScaleBlockSize});
  q.block_max_scale = centred.abs().amax(1);
  const auto step = q.block_max_scale.clamp_min(std::numeric_limits<float>::min()).unsqueeze(1) / 127;
  q.block_max_q = (centred / step).round().clamp(-127, 127).to(torch::kInt8).flatten().narrow(0, 0, block_max.numel());
  return q;
}

torch::Tensor dequantize_nf4(const Nf4Weight& q, torch::ScalarType dtype) {
  torch::NoGradGuard no_grad;
  const auto blocks = q.block_max_q.numel();
  const auto step = (q.block_max_scale / 127).repeat_interleave(kNf4ScaleBlockSize).narrow(0, 0, blocks);
  const auto block_max = q.block_max_q.to(torch::kFloat32) * step + q.block_max_offset;
  const auto low = q.codes.bitwise_and(15), high = q.codes.bitwise_right_shift(4);
  const auto index = torch::stack({low, high}, 1).flatten().to(torch::kLong);
  const auto& levels = levels_on(q.codes.device());
  int64_t numel = 1;
  for (auto d : q.shape) numel *= d;
  const auto values = levels.index_select(0, index).narrow(0, 0, numel);
  return (values * block_max.repeat_interleave(kNf4BlockSize).narrow(0, 0, numel)).view(q.shape).to(dtype);
}

Int8Weight quantize_int8(const torch::Tensor& weight) {
  if (!weight.defined() || weight.dim() != 2 || weight.numel() == 0) {
    throw std::invalid_argument("quantize_int8: a non-empty 2-d weight is needed");
  }
  torch::NoGradGuard no_grad;
  const auto w = weight.detach().to(torch::kCPU, torch::kFloat32);
  Int8Weight q;
  q.scales = w.abs().amax(1) / 127;
  q.values = (w / q.scales.clamp_min(std::numeric_limits<float>::min()).unsqueeze(1)).round().clamp(-127, 127).to(torch::kInt8);
  return q;
}

torch::Tensor dequantize_int8(const Int8Weight& q, torch::ScalarType dtype) {
  torch::NoGradGuard no_grad;
  return (q.values.to(torch::kFloat32) * q.scales.unsqueeze(1)).to(dtype);
}

}  // namespace trol
