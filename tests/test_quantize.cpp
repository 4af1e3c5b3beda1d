// NF4 (with double quantization) and int8 weights: round-trip errors within the bounds the
// schemes guarantee, the packed codes read back by a plain loop, exact levels kept exactly.
#include "tests/catch.h"

#include <algorithm>
#include <cmath>

#include "trol/quantize.h"

namespace test_quantize {

using namespace trol;

namespace {

// The largest half-gap between adjacent NF4 levels, from the table.
double nf4_half_gap() {
  const auto& l = nf4_levels();
  double gap = 0;
  for (size_t i = 1; i < l.size(); ++i) gap = std::max(gap, (l[i] - l[i - 1]) / 2.0);
  return gap;
}

}  // namespace

TEST_CASE("NF4 round trip stays within the level spacing plus the double-quantization error", "[quantize]") {
  CHECK(nf4_half_gap() == Approx(0.1519).margin(1e-4));
  const std::vector<int64_t> shape = GENERATE(std::vector<int64_t>{37, 29}, std::vector<int64_t>{128, 200},
                                              std::vector<int64_t>{3});
  torch::manual_seed(71);
  auto w = torch::randn(shape) * 0.05;
  w.view({-1})[0] = 0.9;  // one block with a much larger maximum than the rest
  const auto q = quantize_nf4(w);
  const auto back = dequantize_nf4(q);
  REQUIRE(back.sizes() == w.sizes());

  // The codes, read by a plain loop: low nibble first, level times the stored block maximum.
  const auto flat = w.flatten();
  const int64_t n = flat.numel();
  const int64_t blocks = (n + 63) / 64;
  std::vector<double> block_max(static_cast<size_t>(blocks), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    block_max[i / 64] = std::max(block_max[i / 64], std::abs(flat[i].item<double>()));
  }
  double mean = 0;
  for (double a : block_max) mean += a;
  mean /= static_cast<double>(blocks);
  const auto codes = q.codes.contiguous();
  for (int64_t i = 0; i < n; ++i) {
    const int byte = codes.data_ptr<uint8_t>()[i / 2];
    const int level = i % 2 == 0 ? byte & 15 : byte >> 4;
    const int64_t block = i / 64, group = block / 256;
    const double stored_max = q.block_max_q[block].item<int>() * q.block_max_scale[group].item<double>() / 127 +
                              q.block_max_offset.item<double>();
    const double expected = nf4_levels()[static_cast<size_t>(level)] * stored_max;
    REQUIRE(back.flatten()[i].item<double>() == Approx(expected).margin(1e-7));
    // The bound of quantize.h, from the original block maxima.
    double spread = 0;
    for (int64_t b = group * 256; b < std::min(blocks, (group + 1) * 256); ++b) {
      spread = std::max(spread, std::abs(block_max[b] - mean));
    }
    const double bound = nf4_half_gap() * block_max[block] + spread / 254 + 1e-6;
    const double error = std::abs(back.flatten()[i].item<double>() - flat[i].item<double>());
    INFO("element " << i << " error " << error << " bound " << bound);
    REQUIRE(error <= bound);
  }
}

TEST_CASE("NF4 keeps exact levels exactly, zeros as zeros, and refuses what it cannot hold", "[quantize]") {
  std::vector<float> values;
  for (int block = 0; block < 3; ++block)
    for (int i = 0; i < 64; ++i) values.push_back(2.0f * nf4_levels()[static_cast<size_t>((i + block) % 16)]);
  const auto w = torch::tensor(values).view({3, 64});
  CHECK(torch::equal(dequantize_nf4(quantize_nf4(w)), w));  // equal maxima: double quantization is exact too
  const auto zeros = torch::zeros({5, 13});
  CHECK(torch::equal(dequantize_nf4(quantize_nf4(zeros)), zeros));
  CHECK(quantize_nf4(torch::ones({65})).codes.numel() == 33);  // two codes per byte, padded
  CHECK_THROWS_WITH(quantize_nf4(torch::zeros({0})), ContainsSubstring("empty"));
  CHECK_THROWS_WITH(quantize_nf4(torch::ones({4}, torch::kLong)), ContainsSubstring("floating-point"));
}

TEST_CASE("int8 round trip stays within half a step of each row's scale", "[quantize]") {
  torch::manual_seed(72);
  auto w = torch::randn({19, 33});
  w[3] *= 100;  // rows of very different ranges
  const auto q = quantize_int8(w);
  CHECK(q.values.scalar_type() == torch::kInt8);
  const auto back = dequantize_int8(q);
  const auto row_max = w.abs().amax(1, true);
  CHECK(((back - w).abs() <= row_max / 254 * (1 + 1e-6)).all().item<bool>());
  CHECK_THROWS_WITH(quantize_int8(torch::ones({4})), ContainsSubstring("2-d"));
}

}  // namespace test_quantize
