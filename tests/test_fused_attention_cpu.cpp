// The fused CPU attention against the composite ops in float64 (an independent computation:
// LibTorch's softmax, key/value heads repeated per query head, another precision), forward
// and backward, over the shapes attention meets: grouped-query heads, a causal padded batch
// with fully masked rows, queries after a cache (Tq < Tk), no mask, and lengths that are not
// a multiple of the kernels' vector width.
#include "tests/catch.h"

#include "test_helpers.h"
#include "trol/attention.h"
#include "trol/compat.h"
#include "trol/fused_attention_cpu.h"
#include "trol/fused_cpu_ops.h"

namespace test_fused_attention_cpu {

using namespace trol;
using namespace trol::test;

namespace {

torch::Tensor reference_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                  const torch::Tensor& mask) {
  const int64_t groups = q.size(1) / k.size(1);
  const auto kr = k.repeat_interleave(groups, 1), vr = v.repeat_interleave(groups, 1);
  auto scores = torch::matmul(q, kr.transpose(-2, -1)) / std::sqrt(static_cast<double>(q.size(-1)));
  if (mask.defined()) scores = scores + mask;
  return torch::matmul(torch::softmax(scores, -1), vr);
}

struct Case {
  const char* name;
  int64_t batch, heads, kv_heads, queries, keys, d;
  bool masked;
};

}  // namespace

TEST_CASE("fused CPU attention matches the float64 composite forward and backward", "[fused]") {
  torch::manual_seed(11);
  const Case cases[] = {
      {"grouped-query, causal, padded", 2, 4, 2, 37, 37, 8, true},
      {"multi-head, causal, 16 keys", 1, 3, 3, 16, 16, 16, true},
      {"queries after a cache", 2, 4, 1, 3, 21, 8, true},
      {"no mask (vision tower)", 2, 2, 2, 19, 19, 4, false},
      {"one key", 1, 2, 2, 1, 1, 8, true},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    // q as attention produces it: a [B, T, H, d] layout viewed as [B, H, T, d] (not contiguous).
    const auto q = (torch::randn({c.batch, c.queries, c.heads, c.d}) * 2).transpose(1, 2).detach().requires_grad_(true);
    // k and v as a KV cache holds them: the filled part of a longer buffer (not contiguous).
    const auto k_cache = (torch::randn({c.batch, c.kv_heads, c.keys + 3, c.d}) * 2).requires_grad_(true);
    const auto v_cache = torch::randn({c.batch, c.kv_heads, c.keys + 3, c.d}).requires_grad_(true);
    const auto k = k_cache.narrow(2, 0, c.keys), v = v_cache.narrow(2, 0, c.keys);
    torch::Tensor mask;
    if (c.masked) {
      auto attention_mask = torch::ones({c.batch, c.keys}, torch::kLong);
      if (c.batch > 1) attention_mask[1].narrow(0, 0, c.keys / 2 + 1).fill_(0);  // left padding
      mask = causal_padding_mask(attention_mask, torch::kFloat32, c.queries);
    }
    const auto out = fused_cpu_attention(q, k, v, mask);
    REQUIRE(out.sizes() == torch::IntArrayRef({c.batch, c.heads, c.queries, c.d}));
    CHECK(out.is_contiguous());
    const auto grad = torch::randn(out.sizes());
    out.backward(grad);

    const auto q64 = q.detach().to(torch::kFloat64).requires_grad_(true);
    const auto k64 = k.detach().to(torch::kFloat64).requires_grad_(true);
    const auto v64 = v.detach().to(torch::kFloat64).requires_grad_(true);
    // float32's lowest finite value, which the float32 mask holds, added in float64.
    const auto out64 = reference_attention(q64, k64, v64, mask.defined() ? mask.to(torch::kFloat64) : mask);
    out64.backward(grad.to(torch::kFloat64));
    CHECK(relative_error(out, out64) < 1e-5);
    CHECK(relative_error(q.grad(), q64.grad()) < 1e-5);
    CHECK(relative_error(k_cache.grad().narrow(2, 0, c.keys), k64.grad()) < 1e-5);
    CHECK(relative_error(v_cache.grad().narrow(2, 0, c.keys), v64.grad()) < 1e-5);
    CHECK(k_cache.grad().narrow(2, c.keys, 3).abs().max().item<float>() == 0.0f);
  }
}

TEST_CASE("fused CPU attention: extreme scores and fully masked rows", "[fused]") {
  // Scores far apart (exp of very negative numbers must be 0, not garbage) and a row whose keys
  // are all masked (uniform weights, as LibTorch's softmax gives over equal scores).
  const auto q = torch::tensor({100.0f, -100.0f}).view({1, 1, 1, 2}).repeat({1, 1, 2, 1});
  const auto k = torch::tensor({1.0f, 0.0f, -1.0f, 0.0f, 0.0f, 1.0f}).view({1, 1, 3, 2});
  const auto v = torch::tensor({1.0f, 2.0f, 3.0f}).view({1, 1, 3, 1});
  auto mask = torch::zeros({1, 1, 2, 3});
  mask[0][0][1].fill_(std::numeric_limits<float>::lowest());
  const auto out = fused_cpu_attention(q, k, v, mask);
  CHECK(out[0][0][0][0].item<float>() == Approx(1.0f).epsilon(1e-6));  // all weight on key 0
  CHECK(out[0][0][1][0].item<float>() == Approx(2.0f).epsilon(1e-6));  // uniform over 1, 2, 3
  CHECK_FALSE(out.isnan().any().item<bool>());
}

TEST_CASE("attention takes the fused kernel on float32 CPU and the composite ops otherwise, with equal results",
          "[fused]") {
  torch::manual_seed(12);
  const auto q = torch::randn({2, 4, 9, 8}), k = torch::randn({2, 2, 9, 8}), v = torch::randn({2, 2, 9, 8});
  auto attention_mask = torch::ones({2, 9}, torch::kLong);
  attention_mask[0].narrow(0, 0, 3).fill_(0);
  const auto mask = causal_padding_mask(attention_mask, torch::kFloat32);
  const auto fused = compat::scaled_dot_product_attention(q, k, v, mask);
  set_fused_cpu_kernels(false);
  const auto composite = compat::scaled_dot_product_attention(q, k, v, mask);
  set_fused_cpu_kernels(true);
  CHECK(relative_error(fused, composite) < 1e-5);
  CHECK_THROWS_WITH(fused_cpu_attention(q, torch::randn({2, 3, 9, 8}), torch::randn({2, 3, 9, 8}), mask),
                    ContainsSubstring("multiple of Hkv"));
}

}  // namespace test_fused_attention_cpu
