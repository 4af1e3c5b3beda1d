// The fused CPU kernels against the composite LibTorch ops they replace, computed in float64
// (an independent computation: different code, different precision), forward and backward.
#include "tests/catch.h"

#include "test_helpers.h"
#include "trol/causal_lm_loss.h"
#include "trol/fused_cpu_ops.h"
#include "trol/linear_map.h"

namespace test_fused_cpu_ops {

using namespace trol;
using namespace trol::test;

namespace {

torch::Tensor composite_rms_norm(const torch::Tensor& x, const torch::Tensor& w, double eps) {
  return w * (x * torch::rsqrt(x.pow(2).mean(-1, true) + eps));
}

torch::Tensor composite_silu_gate(const torch::Tensor& gate_up) {
  const auto parts = gate_up.chunk(2, -1);
  return torch::silu(parts[0]) * parts[1];
}

}  // namespace

TEST_CASE("fused RMSNorm matches the composite ops forward and backward", "[fused]") {
  torch::manual_seed(3);
  for (bool transposed : {false, true}) {
    CAPTURE(transposed);
    auto base = torch::randn({4, 6, 24}) * 3 + 0.5;
    const auto x = (transposed ? base.transpose(0, 1) : base).detach().requires_grad_(true);
    const auto w = (torch::rand({24}) + 0.5).requires_grad_(true);
    const auto y = fused_rms_norm(x, w, 1e-6);
    const auto grad = torch::randn(y.sizes());
    y.backward(grad);

    const auto x64 = x.detach().to(torch::kFloat64).requires_grad_(true);
    const auto w64 = w.detach().to(torch::kFloat64).requires_grad_(true);
    const auto y64 = composite_rms_norm(x64, w64, 1e-6);
    y64.backward(grad.to(torch::kFloat64));
    CHECK(relative_error(y, y64) < 1e-6);
    CHECK(relative_error(x.grad(), x64.grad()) < 1e-5);
    CHECK(relative_error(w.grad(), w64.grad()) < 1e-5);
  }
}

TEST_CASE("fused SiLU gating matches the composite ops forward and backward", "[fused]") {
  torch::manual_seed(4);
  for (bool transposed : {false, true}) {
    CAPTURE(transposed);
    auto base = torch::randn({5, 3, 2 * 17}) * 4;  // wide range: both tails of the sigmoid
    const auto gate_up = (transposed ? base.transpose(0, 1) : base).detach().requires_grad_(true);
    const auto y = fused_silu_gate(gate_up);
    REQUIRE(y.sizes() == torch::IntArrayRef({gate_up.size(0), gate_up.size(1), 17}));
    const auto grad = torch::randn(y.sizes());
    y.backward(grad);

    const auto g64 = gate_up.detach().to(torch::kFloat64).requires_grad_(true);
    const auto y64 = composite_silu_gate(g64);
    y64.backward(grad.to(torch::kFloat64));
    CHECK(relative_error(y, y64) < 1e-6);
    CHECK(relative_error(gate_up.grad(), g64.grad()) < 1e-5);
  }
}

TEST_CASE("fused rotary embedding matches the composite ops forward and backward", "[fused]") {
  torch::manual_seed(5);
  const int64_t b = 2, t = 5, h = 3, d = 8;
  // As attention produces it: a [B, T, H, d] slice of a wider projection, viewed as [B, H, T, d].
  const auto projection = torch::randn({b, t, h * d + 6});
  const auto x = projection.narrow(2, 0, h * d).view({b, t, h, d}).transpose(1, 2).detach().requires_grad_(true);
  const auto angles = torch::rand({b, t, d / 2}) * 6;
  const auto cos = torch::cat({angles, angles}, -1).cos(), sin = torch::cat({angles, angles}, -1).sin();
  const auto y = fused_rotary(x, cos, sin);
  CHECK(y.is_contiguous());
  const auto grad = torch::randn(y.sizes());
  y.backward(grad);

  const auto x64 = x.detach().to(torch::kFloat64).requires_grad_(true);
  const auto halves = x64.chunk(2, -1);
  const auto rotated = torch::cat({-halves[1], halves[0]}, -1);
  const auto y64 = x64 * cos.to(torch::kFloat64).unsqueeze(1) + rotated * sin.to(torch::kFloat64).unsqueeze(1);
  y64.backward(grad.to(torch::kFloat64));
  CHECK(relative_error(y, y64) < 1e-6);
  CHECK(relative_error(x.grad(), x64.grad()) < 1e-6);
}

TEST_CASE("fused kernels apply to float32 CPU tensors only, and refuse bad shapes", "[fused]") {
  CHECK(fused_cpu_applies(torch::ones({2, 3})));
  CHECK_FALSE(fused_cpu_applies(torch::ones({2, 3}, torch::kFloat64)));
  CHECK_FALSE(fused_cpu_applies(torch::ones({0, 3})));
  set_fused_cpu_kernels(false);  // runtime.fused_cpu_kernels: false
  CHECK_FALSE(fused_cpu_applies(torch::ones({2, 3})));
  set_fused_cpu_kernels(true);
  CHECK_THROWS_WITH(fused_silu_gate(torch::ones({2, 5})), ContainsSubstring("must be even"));
  CHECK_THROWS_WITH(fused_silu_gate(torch::ones({2, 0})), ContainsSubstring("must be even"));
  CHECK_THROWS_WITH(fused_rms_norm(torch::ones({2, 5}), torch::ones({4}), 1e-6), ContainsSubstring("does not match"));
}

TEST_CASE("fused causal LM loss matches LibTorch's cross-entropy in float64 forward and backward", "[fused]") {
  torch::manual_seed(6);
  for (int64_t vocab : {37, 64, 3}) {  // tails past the vector width, none, and a vocabulary below it
    CAPTURE(vocab);
    const auto logits = (torch::randn({2, 9, vocab}) * 5).requires_grad_(true);
    auto labels = torch::randint(vocab, {2, 9}, torch::kLong);
    labels[0].narrow(0, 0, 4).fill_(kIgnoreIndex);  // a prompt
    labels[1][8] = kIgnoreIndex;
    const auto loss = causal_lm_loss(logits, labels);
    REQUIRE(loss.sum.scalar_type() == torch::kFloat32);
    CHECK(loss.num_tokens.item<int64_t>() == 8 - 3 + 7);
    (loss.mean * 3).backward();

    const auto logits64 = logits.detach().to(torch::kFloat64).requires_grad_(true);
    const auto shifted = logits64.narrow(1, 0, 8).reshape({-1, vocab});
    const auto sum64 = torch::nn::functional::cross_entropy(
        shifted, labels.narrow(1, 1, 8).reshape({-1}),
        torch::nn::functional::CrossEntropyFuncOptions().ignore_index(kIgnoreIndex).reduction(torch::kSum));
    (sum64 / 12 * 3).backward();
    CHECK(relative_error(loss.sum, sum64) < 1e-6);
    CHECK(relative_error(logits.grad(), logits64.grad()) < 1e-6);
    CHECK(logits.grad().select(1, 8).abs().max().item<float>() == 0.0f);  // the last position predicts nothing
  }
}

TEST_CASE("fused causal LM loss refuses a label outside the vocabulary, as LibTorch's does", "[fused]") {
  const auto logits = torch::randn({1, 3, 5});
  for (int64_t bad : {5, -1}) {
    CAPTURE(bad);
    const auto labels = torch::tensor({int64_t{0}, int64_t{1}, bad}).view({1, 3});
    CHECK_THROWS_WITH(causal_lm_loss(logits, labels), ContainsSubstring("outside the vocabulary of 5"));
    set_fused_cpu_kernels(false);
    CHECK_THROWS(causal_lm_loss(logits, labels));
    set_fused_cpu_kernels(true);
  }
}

TEST_CASE("linear_map equals x W^T + b in float64, one row (the matrix-vector path) or many", "[fused]") {
  torch::manual_seed(7);
  const auto weight = torch::randn({37, 19}), bias = torch::randn({37});
  for (const auto& shape : std::vector<std::vector<int64_t>>{{1, 1, 19}, {19}, {1, 19}, {3, 2, 19}}) {
    CAPTURE(shape);
    const auto x = torch::randn(shape).requires_grad_(true);
    for (bool with_bias : {true, false}) {
      const auto y = linear_map(x, weight, with_bias ? bias : torch::Tensor());
      auto expected = torch::matmul(x.detach().to(torch::kFloat64), weight.to(torch::kFloat64).t());
      if (with_bias) expected = expected + bias.to(torch::kFloat64);
      REQUIRE(y.sizes() == expected.sizes());
      CHECK(relative_error(y, expected) < 1e-6);
    }
    linear_map(x, weight, bias).sum().backward();  // differentiable on both paths
    CHECK(relative_error(x.grad(), weight.sum(0).expand(x.sizes()).to(torch::kFloat64)) < 1e-6);
  }
}

}  // namespace test_fused_cpu_ops
