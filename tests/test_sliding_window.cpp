// Phi-3's sliding window (model.llm.sliding_window = W: the query at position i sees the keys at
// i - W .. i), on every attention path, against a softmax over exactly those keys written out
// here per query; in padded batches, and in cached decoding step by step against the full
// forward. tests/phi3_window_check.py checks the same against Hugging Face's Phi-3.
#include "tests/catch.h"

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <utility>
#include <vector>

#include "test_helpers.h"
#include "train/run_config.h"
#include "trol/attention.h"
#include "trol/compat.h"
#include "trol/config_reader.h"
#include "trol/fused_attention_cpu.h"
#include "trol/generate.h"
#include "trol/hf_config.h"
#include "trol/kv_cache.h"
#include "trol/rotary.h"

namespace test_sliding_window {

using namespace trol;

namespace {

// Attention of queries at the last q_len of k_len positions, each a softmax over the keys it
// may see, gathered one by one: causal, within `window` (0: all earlier keys), and real
// (`key_mask` [B, Tk], 1 for real tokens). Query head h reads key/value head h / (H / Hkv).
// Queries that see no key (padding before a row's first token) get zeros; compare real ones.
torch::Tensor windowed_reference(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                 const torch::Tensor& key_mask, int64_t window) {
  const int64_t batch = q.size(0), heads = q.size(1), q_len = q.size(2), d = q.size(3);
  const int64_t k_len = k.size(2), groups = heads / k.size(1);
  std::vector<torch::Tensor> rows;
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t h = 0; h < heads; ++h) {
      for (int64_t i = 0; i < q_len; ++i) {
        const int64_t position = k_len - q_len + i;
        std::vector<int64_t> seen;
        for (int64_t j = 0; j <= position; ++j) {
          const bool in_window = window == 0 || position - j <= window;
          if (in_window && key_mask[b][j].item<int64_t>() != 0) seen.push_back(j);
        }
        if (seen.empty()) {
          rows.push_back(torch::zeros({v.size(3)}, q.options()));
          continue;
        }
        const auto index = torch::tensor(seen, torch::kLong);
        const auto keys = k[b][h / groups].index_select(0, index);
        const auto values = v[b][h / groups].index_select(0, index);
        const auto weights = torch::softmax(torch::mv(keys, q[b][h][i]) / std::sqrt(static_cast<double>(d)), 0);
        rows.push_back(torch::mv(values.t(), weights));
      }
    }
  }
  return torch::stack(rows).view({batch, heads, q_len, v.size(3)});
}

// The largest |difference| over queries that are real tokens.
double max_difference_on_real_queries(const torch::Tensor& actual, const torch::Tensor& expected,
                                      const torch::Tensor& key_mask) {
  const auto q_len = actual.size(2);
  const auto real = key_mask.narrow(1, key_mask.size(1) - q_len, q_len).to(torch::kBool);  // [B, Tq]
  const auto selected = real.unsqueeze(1).unsqueeze(-1).expand_as(actual);
  return (actual.to(torch::kFloat64) - expected.to(torch::kFloat64)).abs().masked_select(selected).max().item<double>();
}

struct Shape {
  int64_t queries, keys;
  std::string padding;  // none | left | right (right only with as many queries as keys)
};

torch::Tensor key_mask_for(const Shape& shape) {
  auto mask = torch::ones({2, shape.keys}, torch::kLong);
  if (shape.padding == "left") mask[1].narrow(0, 0, 2).zero_();
  if (shape.padding == "right") mask[1].narrow(0, shape.keys - 3, 3).zero_();
  return mask;
}

}  // namespace

TEST_CASE("the sliding-window mask keeps the keys from W before each query up to the query", "[attention][window]") {
  // W = 3 over 8 positions, as Phi-3's window_size=(W, W) keeps them: 4 keys from the 4th query on.
  const std::vector<std::vector<int>> expected{{1, 0, 0, 0, 0, 0, 0, 0}, {1, 1, 0, 0, 0, 0, 0, 0},
                                               {1, 1, 1, 0, 0, 0, 0, 0}, {1, 1, 1, 1, 0, 0, 0, 0},
                                               {0, 1, 1, 1, 1, 0, 0, 0}, {0, 0, 1, 1, 1, 1, 0, 0},
                                               {0, 0, 0, 1, 1, 1, 1, 0}, {0, 0, 0, 0, 1, 1, 1, 1}};
  auto padding = torch::ones({2, 8}, torch::kLong);
  padding[1].narrow(0, 0, 2).zero_();  // row 1: two padding tokens first
  const auto mask = causal_padding_mask(padding, torch::kFloat32, -1, 3);
  for (int64_t b = 0; b < 2; ++b) {
    for (int64_t i = 0; i < 8; ++i) {
      for (int64_t j = 0; j < 8; ++j) {
        const bool seen = expected[i][j] == 1 && (b == 0 || j >= 2);
        INFO("row " << b << ", query " << i << ", key " << j);
        CHECK((mask[b][0][i][j].item<float>() == 0.0f) == seen);
      }
    }
  }
  // New tokens after a cache: the last rows of the same mask.
  for (int64_t queries : {1, 3}) {
    CHECK(torch::equal(causal_padding_mask(padding, torch::kFloat32, queries, 3), mask.narrow(2, 8 - queries, queries)));
  }
  // The maskless path's mask (compat) is the same pattern.
  CHECK(torch::equal(compat::causal_allowed(8, 8, 3, {}), mask[0][0].eq(0)));
  CHECK(torch::equal(compat::causal_allowed(2, 8, 3, {}), mask[0][0].narrow(0, 6, 2).eq(0)));
}

TEST_CASE("every attention path applies the sliding window as a softmax over the window's keys",
          "[attention][window]") {
  const int64_t window = GENERATE(3, 5);
  const auto shape = GENERATE(Shape{11, 11, "none"}, Shape{11, 11, "right"}, Shape{11, 11, "left"},
                              Shape{4, 11, "none"}, Shape{4, 11, "left"}, Shape{1, 11, "none"}, Shape{1, 11, "left"});
  INFO("window " << window << ", " << shape.queries << " queries, " << shape.keys << " keys, padding " << shape.padding);
  torch::manual_seed(21);
  const auto q = torch::randn({2, 4, shape.queries, 8}, torch::kFloat64) * 2;
  const auto k = torch::randn({2, 2, shape.keys, 8}, torch::kFloat64) * 2;
  const auto v = torch::randn({2, 2, shape.keys, 8}, torch::kFloat64);
  const auto key_mask = key_mask_for(shape);
  const auto expected = windowed_reference(q, k, v, key_mask, window);
  const auto mask64 = causal_padding_mask(key_mask, torch::kFloat64, shape.queries, window);
  const auto mask32 = causal_padding_mask(key_mask, torch::kFloat32, shape.queries, window);
  const auto q32 = q.to(torch::kFloat32), k32 = k.to(torch::kFloat32), v32 = v.to(torch::kFloat32);

  // The composite ops (float64: no fused kernel), the fused CPU kernel (float32), and whatever
  // compat picks for float32 on this LibTorch (1.13: the fused kernel; 2.x: SDPA with the mask).
  CHECK(max_difference_on_real_queries(compat::scaled_dot_product_attention(q, k, v, mask64), expected, key_mask) < 1e-12);
  CHECK(max_difference_on_real_queries(fused_cpu_attention(q32, k32, v32, mask32), expected, key_mask) < 2e-5);
  CHECK(max_difference_on_real_queries(compat::scaled_dot_product_attention(q32, k32, v32, mask32), expected,
                                       key_mask) < 2e-5);
  if (shape.padding == "none") {
    // No mask, only causality and the window (right-padded training, and 2.x's SDPA path).
    for (const auto& [qq, kk, vv, tolerance] :
         {std::tuple{q, k, v, 1e-12}, std::tuple{q32, k32, v32, 2e-5}}) {
      const auto out = compat::scaled_dot_product_attention(qq, kk, vv, torch::Tensor(), /*causal=*/true, window);
      CHECK(max_difference_on_real_queries(out, expected, key_mask) < tolerance);
    }
  }
  // And the window does hide keys here: full causal attention differs.
  const auto full = windowed_reference(q, k, v, key_mask, 0);
  CHECK(max_difference_on_real_queries(full.narrow(2, shape.queries - 1, 1), expected.narrow(2, shape.queries - 1, 1),
                                       key_mask.narrow(1, 0, shape.keys)) > 1e-3);
}

TEST_CASE("the window's gradients: fused kernel and composite ops against the per-query softmax",
          "[attention][window]") {
  torch::manual_seed(22);
  const int64_t window = 3;
  auto key_mask = torch::ones({2, 10}, torch::kLong);
  key_mask[1].narrow(0, 7, 3).zero_();  // right padding
  const auto q = torch::randn({2, 4, 10, 8}, torch::kFloat64);
  const auto k = torch::randn({2, 2, 10, 8}, torch::kFloat64);
  const auto v = torch::randn({2, 2, 10, 8}, torch::kFloat64);
  // Upstream gradient only on real queries, so padding rows (uniform over masked keys) do not count.
  const auto grad_out = torch::randn({2, 4, 10, 8}, torch::kFloat64) *
                        key_mask.to(torch::kFloat64).unsqueeze(1).unsqueeze(-1);
  auto gradients = [&](auto&& attention, torch::ScalarType dtype) {
    auto leaf = [&](const torch::Tensor& x) { return x.to(dtype).detach().clone().requires_grad_(); };
    auto qq = leaf(q), kk = leaf(k), vv = leaf(v);
    attention(qq, kk, vv).backward(grad_out.to(dtype));
    return std::vector<torch::Tensor>{qq.grad().to(torch::kFloat64), kk.grad().to(torch::kFloat64),
                                      vv.grad().to(torch::kFloat64)};
  };
  const auto expected = gradients(
      [&](auto& qq, auto& kk, auto& vv) { return windowed_reference(qq, kk, vv, key_mask, window); }, torch::kFloat64);
  const auto composite = gradients(
      [&](auto& qq, auto& kk, auto& vv) {
        return compat::scaled_dot_product_attention(qq, kk, vv, causal_padding_mask(key_mask, torch::kFloat64, -1, window));
      },
      torch::kFloat64);
  const auto fused = gradients(
      [&](auto& qq, auto& kk, auto& vv) {
        return fused_cpu_attention(qq, kk, vv, causal_padding_mask(key_mask, torch::kFloat32, -1, window));
      },
      torch::kFloat32);
  for (size_t i = 0; i < 3; ++i) {
    INFO("gradient of " << "qkv"[i]);
    CHECK(torch::allclose(composite[i], expected[i], 1e-10, 1e-12));
    CHECK(torch::allclose(fused[i], expected[i], 1e-4, 1e-5));
  }
}

TEST_CASE("a window as long as the sequence is full causal attention", "[attention][window]") {
  torch::manual_seed(23);
  const auto q = torch::randn({1, 2, 11, 8}, torch::kFloat64);
  const auto k = torch::randn({1, 2, 11, 8}, torch::kFloat64);
  const auto v = torch::randn({1, 2, 11, 8}, torch::kFloat64);
  const auto ones = torch::ones({1, 11}, torch::kLong);
  const auto full = compat::scaled_dot_product_attention(q, k, v, torch::Tensor(), /*causal=*/true);
  for (int64_t window : {10, 11, 100}) {
    INFO("window " << window);
    CHECK_FALSE(compat::window_hides_keys(11, window));
    CHECK(torch::equal(causal_padding_mask(ones, torch::kFloat64, -1, window), causal_padding_mask(ones, torch::kFloat64)));
    CHECK(torch::allclose(compat::scaled_dot_product_attention(q, k, v, torch::Tensor(), true, window), full, 1e-14, 1e-14));
  }
  // One token shorter, and the first key drops out for the last query.
  CHECK(compat::window_hides_keys(11, 9));
  const auto windowed = compat::scaled_dot_product_attention(q, k, v, torch::Tensor(), true, 9);
  CHECK(torch::allclose(windowed.narrow(2, 0, 10), full.narrow(2, 0, 10), 1e-14, 1e-14));
  CHECK_FALSE(torch::allclose(windowed.narrow(2, 10, 1), full.narrow(2, 10, 1), 1e-6, 1e-6));
}

namespace {

ModelConfig windowed_config(int64_t window) {
  auto c = test::tiny_config("phi3");
  c.vision.enabled = false;
  c.llm.sliding_window = window;
  return c;
}

// A float64 decoder of `config` with random weights (`seed`), in eval mode.
Decoder random_decoder(const ModelConfig& config, uint64_t seed) {
  Decoder decoder(config.llm, config.trol);
  decoder->to(torch::kFloat64);
  test::randomize_parameters(*decoder, seed);
  decoder->eval();
  return decoder;
}

// Two rows of `total` random float64 embeddings (`seed`), row 1 left-padded by 2, and their mask.
std::pair<torch::Tensor, torch::Tensor> padded_rows(const ModelConfig& config, int64_t total, uint64_t seed) {
  torch::manual_seed(seed);
  auto embeds = torch::randn({2, total, config.llm.hidden_size}, torch::kFloat64);
  auto mask = torch::ones({2, total}, torch::kLong);
  mask[1].narrow(0, 0, 2).zero_();
  return {embeds, mask};
}

// The hidden states of decoding `embeds` with the KV cache in `mode`: the first `prompt`
// positions in one call, then one position per step; `before_step(t, cache)` runs before step t.
torch::Tensor decode_cached(Decoder& decoder, const ModelConfig& config, const torch::Tensor& embeds,
                            const torch::Tensor& mask, int64_t prompt, DecodeMode mode,
                            const std::function<void(int64_t, const KvCache&)>& before_step = {}) {
  const int64_t total = embeds.size(1);
  KvCache cache(config.llm.num_layers, decoder->cache_passes(mode), embeds.size(0), config.llm.num_kv_heads,
                config.llm.head_dim(), total, torch::TensorOptions().dtype(torch::kFloat64));
  std::vector<torch::Tensor> hidden{
      decoder->forward_cached(embeds.narrow(1, 0, prompt), mask.narrow(1, 0, prompt), cache, mode).hidden};
  for (int64_t t = prompt; t < total; ++t) {
    if (before_step) before_step(t, cache);
    hidden.push_back(decoder->forward_cached(embeds.narrow(1, t, 1), mask.narrow(1, 0, t + 1), cache, mode).hidden);
  }
  return torch::cat(hidden, 1);
}

}  // namespace

TEST_CASE("a windowed model: padded batches give each sample's result, full attention only within the window",
          "[attention][window]") {
  const int64_t window = 3;
  TrolModel model(windowed_config(window));
  test::randomize_parameters(*model, 24);
  model->to(torch::kFloat64);
  TrolModel full_attention(windowed_config(0));
  test::copy_parameters(*model, *full_attention);
  full_attention->to(torch::kFloat64);
  torch::NoGradGuard no_grad;
  torch::manual_seed(25);
  const std::vector<int64_t> lengths{12, 7};
  std::vector<torch::Tensor> alone;
  for (const auto length : lengths) {
    const auto ids = torch::randint(0, 36, {1, length}, torch::kLong);
    alone.push_back(ids);
  }
  for (const std::string padding : {"right", "left"}) {
    for (const bool right_padded_flag : {false, true}) {
      if (padding == "left" && right_padded_flag) continue;
      INFO(padding << " padding" << (right_padded_flag ? ", maskless causal path" : ""));
      ModelInputs batch{torch::zeros({2, 12}, torch::kLong), torch::zeros({2, 12}, torch::kLong), {}, {}};
      for (int64_t b = 0; b < 2; ++b) {
        const int64_t start = padding == "left" ? 12 - lengths[b] : 0;
        batch.input_ids[b].narrow(0, start, lengths[b]).copy_(alone[b][0]);
        batch.attention_mask[b].narrow(0, start, lengths[b]).fill_(1);
      }
      batch.right_padded = right_padded_flag;
      const auto logits = model->forward(batch).logits;
      for (int64_t b = 0; b < 2; ++b) {
        const auto single = model->forward(test::text_only(alone[b])).logits[0];
        const int64_t start = padding == "left" ? 12 - lengths[b] : 0;
        CHECK(torch::allclose(logits[b].narrow(0, start, lengths[b]), single, 1e-10, 1e-10));
      }
    }
  }
  // The first W + 1 tokens see every earlier token either way; each later one does not.
  const auto windowed = model->forward(test::text_only(alone[0])).logits[0];
  const auto full = full_attention->forward(test::text_only(alone[0])).logits[0];
  CHECK(torch::allclose(windowed.narrow(0, 0, window + 1), full.narrow(0, 0, window + 1), 1e-10, 1e-10));
  for (int64_t t = window + 1; t < 12; ++t) {
    INFO("token " << t);
    CHECK((windowed[t] - full[t]).abs().max().item<double>() > 1e-6);
  }
}

TEST_CASE("cached decoding under a window equals the full forward at every step, past the window",
          "[kv_cache][window]") {
  const bool traversal = GENERATE(true, false);
  INFO((traversal ? "traversed" : "traversal off"));
  auto config = windowed_config(3);
  config.trol.traversal = traversal;
  auto decoder = random_decoder(config, 26);
  torch::NoGradGuard no_grad;
  // Prompt of 6 (row 1 left-padded by 2), then 6 steps: the window (3) slides 6 times.
  const int64_t prompt = 6, total = 12;
  const auto [embeds, mask] = padded_rows(config, total, 27);
  const auto cached = decode_cached(decoder, config, embeds, mask, prompt, DecodeMode::exact, [](int64_t t, const KvCache& cache) {
    CHECK(cache.slot(0, 0).first_visible(3) == t - 3);  // a step reads W + 1 keys, its own included
  });
  const auto full = decoder->forward(embeds, mask).hidden;
  const auto real = mask.to(torch::kBool).unsqueeze(-1).expand_as(full);
  CHECK((cached - full).abs().masked_select(real).max().item<double>() < 1e-10);

  // The full forward itself against attention without the window: different after it.
  auto unwindowed = config;
  unwindowed.llm.sliding_window = 0;
  Decoder full_decoder(unwindowed.llm, unwindowed.trol);
  test::copy_parameters(*decoder, *full_decoder);
  full_decoder->to(torch::kFloat64);
  full_decoder->eval();
  const auto no_window = full_decoder->forward(embeds, mask).hidden;
  CHECK((no_window[0][total - 1] - full[0][total - 1]).abs().max().item<double>() > 1e-6);
}

TEST_CASE("released cached decoding under a window follows the authors' rule with the windowed mask",
          "[kv_cache][window]") {
  auto config = windowed_config(3);
  auto decoder = random_decoder(config, 29);
  torch::NoGradGuard no_grad;
  const int64_t prompt = 5, total = 11;
  const auto [embeds, mask] = padded_rows(config, total, 30);
  const auto cached = decode_cached(decoder, config, embeds, mask, prompt, DecodeMode::released);

  // Without a cache: each layer's first pass over the whole sequence, the second pass and the
  // mixing over the prompt only, every attention under the window's mask.
  const auto rotary = rotary_tables(positions_from_mask(mask), config.llm.head_dim(), config.llm.rope_theta, torch::kFloat64);
  const auto windowed = causal_padding_mask(mask, torch::kFloat64, -1, 3);
  const RotaryTables prompt_rotary{rotary.cos.narrow(1, 0, prompt), rotary.sin.narrow(1, 0, prompt)};
  auto h = embeds;
  for (int64_t i = 0; i < config.llm.num_layers; ++i) {
    const auto layer = decoder->layers->ptr<DecoderLayerImpl>(i);
    const auto h1 = layer->forward(h, rotary, windowed);
    const auto h1_prompt = h1.narrow(1, 0, prompt);
    const auto h2_prompt = layer->forward(h1_prompt, prompt_rotary, windowed.narrow(2, 0, prompt).narrow(3, 0, prompt));
    const auto w = 0.5 * torch::tanh(decoder->gate(i)(h1_prompt)) + 0.5;
    h = torch::cat({(1 - w) * h1_prompt + w * h2_prompt, h1.narrow(1, prompt, total - prompt)}, 1);
  }
  const auto expected = decoder->norm(h);
  const auto real = mask.to(torch::kBool).unsqueeze(-1).expand_as(expected);
  CHECK((cached - expected).abs().masked_select(real).max().item<double>() < 1e-10);
}

TEST_CASE("greedy generation under a window: the cache gives the tokens of full forwards, batched as alone",
          "[kv_cache][generate][window]") {
  TrolModel model(windowed_config(3));
  model->to(torch::kFloat64);
  test::randomize_parameters(*model, 28);
  const std::vector<std::vector<int64_t>> prompts{{1, 2, 3, 4, 5, 6}, {7, 8}, {9, 10, 11, 12}};
  GenerateOptions options;
  options.max_new_tokens = 8;
  const auto cached = generate_greedy(model, prompts, {}, options);
  for (size_t i = 0; i < prompts.size(); ++i) {
    INFO("prompt " << i);
    CHECK(generate_greedy(model, {prompts[i]}, {}, options)[0] == cached[i]);
  }
  options.use_cache = false;
  CHECK(cached == generate_greedy(model, prompts, {}, options));
}

TEST_CASE("model.llm.sliding_window: read, validated, and carried through Hugging Face's config.json",
          "[config][window]") {
  const auto dir = std::filesystem::temp_directory_path() / ("trol_test_window_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "run.yaml") << "model:\n  llm:\n    sliding_window: 5\n";
  CHECK(load_run_config((dir / "run.yaml").string()).model.llm.sliding_window == 5);
  CHECK(load_run_config((dir / "run.yaml").string(), {"model.llm.sliding_window=0"}).model.llm.sliding_window == 0);

  auto config = test::tiny_config("phi3");
  config.llm.sliding_window = -1;
  CHECK_THROWS_WITH(validate(config), ContainsSubstring("model.llm.sliding_window: must be 0"));
  config = test::tiny_config("internlm2");
  config.llm.sliding_window = 4;
  CHECK_THROWS_WITH(validate(config), ContainsSubstring("model.llm.sliding_window: is Phi-3's setting"));

  // Phi-3-mini-4k's keys, read into the model section and written back.
  auto phi3 = test::tiny_config("phi3");
  auto json = hf_llm_config_json(phi3.llm, "float32");
  CHECK(json["sliding_window"].is_null());
  json["sliding_window"] = 2047;
  std::ofstream(dir / "config.json") << json.dump();
  const auto imported = model_config_from_hf(dir.string());
  CHECK(imported.model["llm"]["sliding_window"].as<int64_t>() == 2047);
  bool noted = false;
  for (const auto& note : imported.notes) noted = noted || note.find("sliding_window 2047") != std::string::npos;
  CHECK(noted);
  phi3.llm.sliding_window = 2047;
  CHECK(hf_llm_config_json(phi3.llm, "float32")["sliding_window"] == 2047);
  CHECK_FALSE(hf_llm_config_json(test::tiny_config("internlm2").llm, "float32").contains("sliding_window"));
  json["sliding_window"] = 0;
  std::ofstream(dir / "config.json") << json.dump();
  CHECK_THROWS_WITH(model_config_from_hf(dir.string()), ContainsSubstring("config.json: sliding_window 0 must be positive"));
  std::filesystem::remove_all(dir);
}

}  // namespace test_sliding_window
