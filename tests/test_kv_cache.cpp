// Incremental decoding with the KV cache, against independent computations without one:
// `exact` must equal the full traversed forward at every step, `released` the authors' rule
// (prompt traversed, new tokens one pass over the first pass's keys) written out layer by layer.
#include "tests/catch.h"

#include "test_helpers.h"
#include "trol/attention.h"
#include "trol/generate.h"
#include "trol/kv_cache.h"
#include "trol/rotary.h"

namespace test_kv_cache {

using namespace trol;

namespace {

Decoder random_decoder(const std::string& family, bool traversal, uint64_t seed) {
  auto config = test::tiny_config(family);
  config.trol.traversal = traversal;
  Decoder decoder(config.llm, config.trol);
  decoder->to(torch::kFloat64);
  test::randomize_parameters(*decoder, seed);
  decoder->eval();
  return decoder;
}

// Two rows, the second left-padded by 3: [batch, prompt + steps] mask and matching embeddings.
struct Sequence {
  torch::Tensor embeds;  // [2, total, hidden]
  torch::Tensor mask;    // [2, total]
  int64_t prompt;
};

Sequence random_sequence(int64_t hidden, int64_t prompt, int64_t steps, uint64_t seed) {
  torch::manual_seed(seed);
  const int64_t total = prompt + steps;
  auto mask = torch::ones({2, total}, torch::kLong);
  mask[1].narrow(0, 0, 3).zero_();
  return {torch::randn({2, total, hidden}, torch::kFloat64), mask, prompt};
}

KvCache cache_for(Decoder& decoder, const LlmConfig& llm, DecodeMode mode, int64_t capacity) {
  return KvCache(llm.num_layers, decoder->cache_passes(mode), 2, llm.num_kv_heads, llm.head_dim(), capacity,
                 torch::TensorOptions().dtype(torch::kFloat64));
}

// Feeds the prompt, then one token per step; returns the hidden state of each fed token
// ([2, total, hidden]: the prompt's rows, then one row per step).
torch::Tensor decode_with_cache(Decoder& decoder, const LlmConfig& llm, const Sequence& s, DecodeMode mode) {
  const int64_t total = s.embeds.size(1);
  auto cache = cache_for(decoder, llm, mode, total);
  std::vector<torch::Tensor> hidden{
      decoder->forward_cached(s.embeds.narrow(1, 0, s.prompt), s.mask.narrow(1, 0, s.prompt), cache, mode).hidden};
  for (int64_t t = s.prompt; t < total; ++t) {
    hidden.push_back(decoder->forward_cached(s.embeds.narrow(1, t, 1), s.mask.narrow(1, 0, t + 1), cache, mode).hidden);
  }
  CHECK(cache.length() == total);
  return torch::cat(hidden, 1);
}

// The released rule without a cache, from the layers' plain forward: every layer's first pass
// runs over the whole sequence (so new tokens attend to the first pass's keys of the prompt and
// to their own single pass), the second pass and the mixing over the prompt only.
torch::Tensor released_reference(Decoder& decoder, const LlmConfig& llm, const Sequence& s) {
  const auto rotary = rotary_tables(positions_from_mask(s.mask), llm.head_dim(), llm.rope_theta, torch::kFloat64);
  const auto mask = causal_padding_mask(s.mask, torch::kFloat64);
  const int64_t p = s.prompt;
  const RotaryTables prompt_rotary{rotary.cos.narrow(1, 0, p), rotary.sin.narrow(1, 0, p)};
  const auto prompt_mask = mask.narrow(2, 0, p).narrow(3, 0, p);
  auto h = s.embeds;
  for (int64_t i = 0; i < llm.num_layers; ++i) {
    const auto layer = decoder->layers->ptr<DecoderLayerImpl>(i);
    const auto h1 = layer->forward(h, rotary, mask);
    const auto h1_prompt = h1.narrow(1, 0, p);
    const auto h2_prompt = layer->forward(h1_prompt, prompt_rotary, prompt_mask);
    const auto w = 0.5 * torch::tanh(decoder->gate(i)(h1_prompt)) + 0.5;
    const auto mixed = (1 - w) * h1_prompt + w * h2_prompt;
    h = torch::cat({mixed, h1.narrow(1, p, h1.size(1) - p)}, 1);
  }
  return decoder->norm(h);
}

// Rows of real tokens only (padding rows are masked everywhere and carry no meaning).
void check_close_on_real_tokens(const torch::Tensor& actual, const torch::Tensor& expected, const torch::Tensor& mask) {
  const auto real = mask.to(torch::kBool).unsqueeze(-1).expand_as(actual);
  const auto diff = (actual - expected).abs().masked_select(real).max().item<double>();
  INFO("max |difference| " << diff);
  CHECK(diff < 1e-10);
}

}  // namespace

TEST_CASE("exact cached decoding equals the full traversed forward at every step", "[kv_cache]") {
  const std::string family = GENERATE(std::string("phi3"), std::string("internlm2"));
  const bool traversal = GENERATE(true, false);
  INFO(family << (traversal ? "" : ", traversal off"));
  auto config = test::tiny_config(family);
  auto decoder = random_decoder(family, traversal, 3);
  const auto s = random_sequence(config.llm.hidden_size, 7, 5, 4);
  torch::NoGradGuard no_grad;
  const auto cached = decode_with_cache(decoder, config.llm, s, DecodeMode::exact);
  // Causal attention: the full forward's hidden state at position t is what step t computes.
  check_close_on_real_tokens(cached, decoder->forward(s.embeds, s.mask).hidden, s.mask);
}

TEST_CASE("released cached decoding follows the authors' rule, and differs from exact", "[kv_cache]") {
  const std::string family = GENERATE(std::string("phi3"), std::string("internlm2"));
  INFO(family);
  auto config = test::tiny_config(family);
  auto decoder = random_decoder(family, true, 5);
  const auto s = random_sequence(config.llm.hidden_size, 6, 5, 6);
  torch::NoGradGuard no_grad;
  const auto released = decode_with_cache(decoder, config.llm, s, DecodeMode::released);
  check_close_on_real_tokens(released, released_reference(decoder, config.llm, s), s.mask);

  // The prompt is traversed in both modes; the new tokens are not in released decoding.
  const auto exact = decode_with_cache(decoder, config.llm, s, DecodeMode::exact);
  check_close_on_real_tokens(released.narrow(1, 0, s.prompt), exact.narrow(1, 0, s.prompt),
                             s.mask.narrow(1, 0, s.prompt));
  CHECK((released.narrow(1, s.prompt, 5) - exact.narrow(1, s.prompt, 5)).abs().max().item<double>() > 1e-3);
}

TEST_CASE("the mask of new tokens is the last rows of the full causal padding mask", "[kv_cache]") {
  auto mask = torch::ones({2, 9}, torch::kLong);
  mask[0].narrow(0, 0, 4).zero_();
  const auto full = causal_padding_mask(mask, torch::kFloat32);
  for (int64_t queries : {1, 3, 9}) {
    INFO(queries << " queries");
    CHECK(torch::equal(causal_padding_mask(mask, torch::kFloat32, queries), full.narrow(2, 9 - queries, queries)));
  }
  CHECK_THROWS_WITH(causal_padding_mask(mask, torch::kFloat32, 10), ContainsSubstring("10 queries but only 9 positions"));
}

TEST_CASE("the KV cache refuses what it cannot hold and modes it does not know", "[kv_cache]") {
  CHECK(parse_decode_mode("exact") == DecodeMode::exact);
  CHECK(parse_decode_mode("released") == DecodeMode::released);
  CHECK_THROWS_WITH(parse_decode_mode("greedy"), ContainsSubstring("'greedy'") && ContainsSubstring("exact or released"));
  CHECK_THROWS_WITH(KvCache(2, 3, 1, 1, 4, 8, torch::kFloat32), ContainsSubstring("passes 3"));

  auto config = test::tiny_config("phi3");
  auto decoder = random_decoder("phi3", true, 7);
  const auto s = random_sequence(config.llm.hidden_size, 6, 0, 8);
  torch::NoGradGuard no_grad;
  auto small = cache_for(decoder, config.llm, DecodeMode::exact, 4);
  CHECK_THROWS_WITH(decoder->forward_cached(s.embeds, s.mask, small, DecodeMode::exact),
                    ContainsSubstring("capacity of 4"));
  auto one_pass = cache_for(decoder, config.llm, DecodeMode::released, 8);
  CHECK_THROWS_WITH(decoder->forward_cached(s.embeds, s.mask, one_pass, DecodeMode::exact),
                    ContainsSubstring("needs 2 cache passes"));
  CHECK_THROWS_WITH(decoder->forward_cached(s.embeds, s.mask.narrow(1, 0, 5), one_pass, DecodeMode::released),
                    ContainsSubstring("must be [2, 6]"));
  KvCache cache(1, 1, 1, 1, 4, 3, torch::kFloat32);
  cache.advance(3);
  CHECK_THROWS_AS(cache.advance(1), std::length_error);

  TrolModel model(config);
  GenerateOptions options;
  options.use_cache = false;
  options.decode = DecodeMode::released;
  CHECK_THROWS_WITH(generate_greedy(model, {{1, 2}}, {}, options), ContainsSubstring("use_cache must be true"));
}

TEST_CASE("generation with the cache gives the tokens of generation without it", "[kv_cache][generate]") {
  auto config = test::tiny_config("internlm2");
  TrolModel model(config);
  model->to(torch::kFloat64);
  test::randomize_parameters(*model, 9);
  const std::vector<std::vector<int64_t>> prompts{{1, 2, 3, 4, 5, 6}, {7, 8}, {9, 10, 11, 12}};
  GenerateOptions options;
  options.max_new_tokens = 7;
  const auto cached = generate_greedy(model, prompts, {}, options);
  options.use_cache = false;
  CHECK(cached == generate_greedy(model, prompts, {}, options));
  for (const auto& answer : cached) CHECK(answer.size() == 7);
}

}  // namespace test_kv_cache
