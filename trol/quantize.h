// Frozen weights stored in 4 or 8 bits, as QLoRA trains over them (Dettmers et al., 2023).
//
// NF4: the weight is cut into blocks of 64 values; each block is divided by its absolute
// maximum and every value replaced by the nearest of the 16 NormalFloat levels (the quantiles
// of a standard normal, rescaled to [-1, 1] with an exact 0: bitsandbytes' table), two 4-bit
// codes per byte. Double quantization then stores the block maxima themselves in 8 bits: their
// mean is subtracted and blocks of 256 of them are quantized symmetrically to int8 with one
// float32 scale each. (bitsandbytes uses its dynamic 8-bit code there; a linear int8 code
// keeps the error bound simple and costs the same 8 bits per block maximum.)
//
// Int8: per output row, the absolute maximum maps to 127 (bitsandbytes' vector-wise scheme).
//
// Round-trip error bounds, per element x of a block with maximum A and stored maximum A':
//   NF4:  |x - x'| <= g * A + |A - A'|, g = the largest half-gap between adjacent levels
//         (0.1519, between -1 and -0.6962), and |A - A'| <= S / 254 with S the largest
//         |A_i - mean| in A's group of 256 blocks (half an int8 step), plus float rounding.
//   Int8: |x - x'| <= A_row / 254, plus float rounding.
#pragma once

#include <torch/torch.h>

#include <array>

namespace trol {

enum class QuantizeMode { none, nf4, int8 };

QuantizeMode parse_quantize_mode(const std::string& text, const std::string& key = "model.quantize");

// The 16 NF4 levels, ascending.
const std::array<float, 16>& nf4_levels();

constexpr int64_t kNf4BlockSize = 64;
constexpr int64_t kNf4ScaleBlockSize = 256;

struct Nf4Weight {
  torch::Tensor codes;         // uint8 [ceil(numel / 2)]: two 4-bit level indices per byte, low nibble first
  torch::Tensor block_max_q;   // int8 [blocks]: (block maximum - offset) in 8 bits
  torch::Tensor block_max_scale;  // float32 [ceil(blocks / 256)]
  torch::Tensor block_max_offset;  // float32 scalar: the mean block maximum
  std::vector<int64_t> shape;
};

Nf4Weight quantize_nf4(const torch::Tensor& weight);
torch::Tensor dequantize_nf4(const Nf4Weight& q, torch::ScalarType dtype = torch::kFloat32);

struct Int8Weight {
  torch::Tensor values;  // int8 [rows, cols]
  torch::Tensor scales;  // float32 [rows]: row maximum / 127
};

Int8Weight quantize_int8(const torch::Tensor& weight);  // weight [rows, cols]
torch::Tensor dequantize_int8(const Int8Weight& q, torch::ScalarType dtype = torch::kFloat32);

}  // namespace trol
