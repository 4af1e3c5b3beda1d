// Attention: rotary convention, causality, padding, and grouped-query heads, each checked
// against an independent computation.
#include "tests/catch.h"

#include <cmath>
#include <vector>

#include "test_helpers.h"
#include "trol/attention.h"
#include "trol/compat.h"
#include "trol/rotary.h"

namespace test_attention {

using namespace trol;

TEST_CASE("rotary embedding rotates dimension pairs (i, i + d/2) by pos * theta^(-2i/d)", "[attention]") {
  const int64_t d = 8;
  const double theta = 100.0;
  torch::manual_seed(2);
  const auto x = torch::randn({1, 1, 3, d}, torch::kFloat64);
  const auto positions = torch::tensor({{0, 1, 5}}, torch::kLong);
  const auto rotated = apply_rotary(x, rotary_tables(positions, d, theta, torch::kFloat64));
  auto expected = torch::zeros_like(x);
  for (int64_t t = 0; t < 3; ++t) {
    const double pos = positions[0][t].item<double>();
    for (int64_t i = 0; i < d / 2; ++i) {
      const double angle = pos * std::pow(theta, -2.0 * i / d);
      const double a = x[0][0][t][i].item<double>(), b = x[0][0][t][i + d / 2].item<double>();
      expected[0][0][t][i] = a * std::cos(angle) - b * std::sin(angle);
      expected[0][0][t][i + d / 2] = a * std::sin(angle) + b * std::cos(angle);
    }
  }
  // The tables are computed in float32, as in Hugging Face; hence the tolerance.
  CHECK(torch::allclose(rotated, expected, 1e-5, 1e-5));
}

TEST_CASE("Phi-3 longrope divides each frequency by its factor and scales cos/sin", "[attention]") {
  LlmConfig llm;
  llm.hidden_size = 16;
  llm.num_heads = 2;  // head_dim 8: four frequencies
  llm.rope_theta = 100.0;
  llm.max_position_embeddings = 64;
  llm.rope_scaling.type = "longrope";
  llm.rope_scaling.short_factor = {1.0, 2.0, 3.0, 4.0};
  llm.rope_scaling.long_factor = {5.0, 6.0, 7.0, 8.0};
  llm.rope_scaling.original_max_position_embeddings = 8;
  const double scale = std::sqrt(1.0 + std::log(64.0 / 8.0) / std::log(8.0));
  auto expect_tables = [&](const torch::Tensor& positions, int64_t bound, const std::vector<double>& factors) {
    const auto tables = rotary_tables(positions, llm, bound, torch::kFloat64);
    for (int64_t t = 0; t < positions.size(1); ++t) {
      for (int64_t i = 0; i < 4; ++i) {
        const double angle = positions[0][t].item<double>() * std::pow(100.0, -2.0 * i / 8.0) / factors[i];
        for (int64_t half : {0, 4}) {
          CHECK(tables.cos[0][t][i + half].item<double>() == Approx(std::cos(angle) * scale).margin(1e-5));
          CHECK(tables.sin[0][t][i + half].item<double>() == Approx(std::sin(angle) * scale).margin(1e-5));
        }
      }
    }
  };
  expect_tables(torch::tensor({{0, 3, 7}}, torch::kLong), 8, llm.rope_scaling.short_factor);   // longest 8: short
  expect_tables(torch::tensor({{0, 3, 8}}, torch::kLong), 9, llm.rope_scaling.long_factor);    // longest 9: long
  expect_tables(torch::tensor({{1, 2, 3}}, torch::kLong), 20, llm.rope_scaling.short_factor);  // bound alone decides nothing

  // Factors of 1 and no extension past the original length: plain RoPE.
  llm.rope_scaling.short_factor = llm.rope_scaling.long_factor = {1.0, 1.0, 1.0, 1.0};
  llm.max_position_embeddings = 8;
  const auto positions = torch::tensor({{0, 2, 5}}, torch::kLong);
  CHECK(torch::allclose(rotary_tables(positions, llm, 8, torch::kFloat32).cos,
                        rotary_tables(positions, 8, 100.0, torch::kFloat32).cos));
}

TEST_CASE("InternLM2 dynamic NTK rescales the base by the call's key length past max_position_embeddings",
          "[attention]") {
  LlmConfig llm;
  llm.hidden_size = 16;
  llm.num_heads = 2;  // head_dim 8
  llm.rope_theta = 100.0;
  llm.max_position_embeddings = 8;
  llm.rope_scaling.type = "dynamic";
  llm.rope_scaling.factor = 2.0;
  // By hand: 100 * (2 * 12 / 8 - (2 - 1))^(8 / 6) = 100 * 2^(4/3) at 12 keys; plain up to 8.
  CHECK(dynamic_ntk_base(llm, 8) == 100.0);
  CHECK(dynamic_ntk_base(llm, 12) == Approx(100.0 * std::pow(2.0, 4.0 / 3.0)).epsilon(1e-12));
  const auto positions = torch::tensor({{9, 10, 11}}, torch::kLong);  // e.g. new tokens after 9 cached ones
  for (const int64_t keys : {8, 12}) {
    const double base = keys > 8 ? 100.0 * std::pow(2.0, 4.0 / 3.0) : 100.0;
    const auto tables = rotary_tables(positions, llm, keys, torch::kFloat64);
    for (int64_t t = 0; t < 3; ++t) {
      for (int64_t i = 0; i < 4; ++i) {
        const double angle = positions[0][t].item<double>() * std::pow(base, -2.0 * i / 8.0);
        CHECK(tables.cos[0][t][i].item<double>() == Approx(std::cos(angle)).margin(1e-5));
        CHECK(tables.sin[0][t][i + 4].item<double>() == Approx(std::sin(angle)).margin(1e-5));
      }
    }
  }
}

TEST_CASE("positions count real tokens under left and right padding", "[attention]") {
  const auto mask = torch::tensor({{1, 1, 1, 0, 0}, {0, 0, 1, 1, 1}}, torch::kLong);
  const auto expected = torch::tensor({{0, 1, 2, 2, 2}, {0, 0, 0, 1, 2}}, torch::kLong);
  CHECK(torch::equal(positions_from_mask(mask), expected));
}

TEST_CASE("a token's logits do not depend on later tokens", "[attention]") {
  auto c = test::tiny_config();
  c.vision.enabled = false;
  TrolModel model(c);
  test::randomize_parameters(*model, 11);
  torch::NoGradGuard no_grad;
  auto ids = torch::randint(0, 36, {1, 8}, torch::kLong);
  const auto before = model->forward(test::text_only(ids)).logits;
  ids[0][6] = (ids[0][6].item<int64_t>() + 1) % 36;
  const auto after = model->forward(test::text_only(ids)).logits;
  CHECK(torch::allclose(before.narrow(1, 0, 6), after.narrow(1, 0, 6), 1e-6, 1e-6));
  CHECK_FALSE(torch::allclose(before.narrow(1, 6, 2), after.narrow(1, 6, 2), 1e-6, 1e-6));
}

TEST_CASE("a padded batch gives each sample's unpadded result", "[attention]") {
  const bool left_padding = GENERATE(false, true);
  const std::string family = GENERATE(std::string("phi3"), std::string("internlm2"));
  INFO((left_padding ? "left" : "right") << " padding, " << family);
  auto c = test::tiny_config(family);
  TrolModel model(c);
  test::randomize_parameters(*model, 12);
  torch::NoGradGuard no_grad;
  const auto image_token = c.resolved_image_token_id();
  const int64_t per_image = c.vision.tokens_per_image();

  // Sample lengths 11 and 7, one image each.
  const std::vector<int64_t> lengths{11, 7};
  const int64_t t = 11;
  std::vector<torch::Tensor> sample_ids;
  auto batch_ids = torch::zeros({2, t}, torch::kLong);
  auto batch_mask = torch::zeros({2, t}, torch::kLong);
  torch::manual_seed(13);
  for (int64_t b = 0; b < 2; ++b) {
    auto ids = torch::randint(0, image_token, {lengths[b]}, torch::kLong);
    ids.narrow(0, 1, per_image).fill_(image_token);
    sample_ids.push_back(ids);
    const int64_t start = left_padding ? t - lengths[b] : 0;
    batch_ids[b].narrow(0, start, lengths[b]).copy_(ids);
    batch_mask[b].narrow(0, start, lengths[b]).fill_(1);
  }
  const auto pixels = torch::randn({2, 3, c.vision.image_size, c.vision.image_size});
  const auto batched = model->forward({batch_ids, batch_mask, pixels, {}}).logits;
  for (int64_t b = 0; b < 2; ++b) {
    const auto ids = sample_ids[b].unsqueeze(0);
    const auto alone = model->forward({ids, torch::ones_like(ids), pixels.narrow(0, b, 1), {}}).logits[0];
    const int64_t start = left_padding ? t - lengths[b] : 0;
    CHECK(torch::allclose(batched[b].narrow(0, start, lengths[b]), alone, 1e-5, 1e-5));
  }
}

TEST_CASE("causal attention without a mask equals the explicit causal mask, grouped heads included", "[attention]") {
  torch::manual_seed(15);
  for (const auto& [q_len, k_len] : std::vector<std::pair<int64_t, int64_t>>{{9, 9}, {4, 9}, {1, 9}}) {
    INFO(q_len << " queries, " << k_len << " keys");
    const auto q = torch::randn({2, 4, q_len, 8}, torch::kFloat64);
    const auto k = torch::randn({2, 2, k_len, 8}, torch::kFloat64);
    const auto v = torch::randn({2, 2, k_len, 8}, torch::kFloat64);
    const auto explicit_mask = causal_padding_mask(torch::ones({2, k_len}, torch::kLong), torch::kFloat64, q_len);
    const auto masked = compat::scaled_dot_product_attention(q, k, v, explicit_mask);
    CHECK(torch::allclose(compat::scaled_dot_product_attention(q, k, v, torch::Tensor(), /*causal=*/true), masked,
                          1e-12, 1e-12));
    if (q_len > 1) {  // and causality does mask something
      CHECK_FALSE(torch::allclose(compat::scaled_dot_product_attention(q, k, v, torch::Tensor()), masked, 1e-6, 1e-6));
    }
  }
}

TEST_CASE("a right-padded batch needs no padding mask: the same logits at real tokens, loss and gradients",
          "[attention]") {
  const std::string family = GENERATE(std::string("phi3"), std::string("internlm2"));
  INFO(family);
  auto c = test::tiny_config(family);
  c.vision.enabled = false;
  TrolModel model(c);
  test::randomize_parameters(*model, 16);
  model->to(torch::kFloat64);
  torch::manual_seed(17);
  ModelInputs inputs{torch::randint(0, 36, {2, 10}, torch::kLong), torch::ones({2, 10}, torch::kLong), {}, {}};
  inputs.attention_mask[1].narrow(0, 6, 4).fill_(0);  // row 1: 6 tokens, then padding
  inputs.labels = inputs.input_ids.masked_fill(inputs.attention_mask.eq(0), -100);
  auto run = [&](bool right_padded) {
    model->zero_grad();
    auto in = inputs;
    in.right_padded = right_padded;
    const auto out = model->forward(in);
    out.loss.mean.backward();
    std::vector<torch::Tensor> results{out.logits[0].detach(), out.logits[1].narrow(0, 0, 6).detach(), out.loss.mean.detach()};
    for (const auto& p : model->parameters()) results.push_back(p.grad().clone());
    return results;
  };
  const auto masked = run(false), causal = run(true);
  for (size_t i = 0; i < masked.size(); ++i) {
    INFO("result " << i);
    CHECK(torch::allclose(causal[i], masked[i], 1e-10, 1e-12));
  }
}

namespace {

// The K/V rows of `from` (num_kv_heads < num_heads) expanded so that every query head has
// its own copy of the K/V head it reads: the weight of the equivalent multi-head model.
torch::Tensor expand_kv_rows(const torch::Tensor& qkv, const LlmConfig& c) {
  const int64_t h = c.num_heads, kv = c.num_kv_heads, d = c.head_dim(), g = h / kv;
  if (c.family == "phi3") {
    const auto parts = qkv.split({h * d, kv * d, kv * d}, 0);
    auto expand = [&](const torch::Tensor& rows) {
      return rows.view({kv, 1, d, -1}).expand({kv, g, d, rows.size(1)}).reshape({h * d, -1});
    };
    return torch::cat({parts[0], expand(parts[1]), expand(parts[2])}, 0);
  }
  // internlm2: per KV group [q_0 .. q_{g-1}, k, v] -> per head [q_h, k_{h/g}, v_{h/g}]
  std::vector<torch::Tensor> rows;
  const auto grouped = qkv.view({kv, g + 2, d, -1});
  for (int64_t head = 0; head < h; ++head) {
    const int64_t group = head / g, member = head % g;
    rows.push_back(grouped[group][member]);
    rows.push_back(grouped[group][g]);
    rows.push_back(grouped[group][g + 1]);
  }
  return torch::cat(rows, 0);
}

}  // namespace

TEST_CASE("grouped-query attention equals multi-head attention with K/V heads repeated", "[attention]") {
  const std::string family = GENERATE(std::string("phi3"), std::string("internlm2"));
  INFO(family);
  auto gqa_config = test::tiny_config(family);
  gqa_config.vision.enabled = false;
  auto mha_config = gqa_config;
  mha_config.llm.num_kv_heads = mha_config.llm.num_heads;
  TrolModel gqa(gqa_config);
  TrolModel mha(mha_config);
  test::randomize_parameters(*gqa, 14);
  {
    torch::NoGradGuard no_grad;
    auto target = mha->named_parameters();
    for (const auto& p : gqa->named_parameters()) {
      const bool fused_qkv = p.key().find("qkv_proj") != std::string::npos || p.key().find("wqkv") != std::string::npos;
      target[p.key()].copy_(fused_qkv ? expand_kv_rows(p.value(), gqa_config.llm) : p.value());
    }
  }
  torch::NoGradGuard no_grad;
  const auto ids = torch::randint(0, 36, {2, 10}, torch::kLong);
  CHECK(torch::allclose(gqa->forward(test::text_only(ids)).logits, mha->forward(test::text_only(ids)).logits, 1e-5,
                        1e-5));
}

}  // namespace test_attention
