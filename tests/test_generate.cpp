// Batched greedy generation: left padding, stop ids and images must not change any answer.
#include "tests/catch.h"

#include "test_helpers.h"
#include "trol/generate.h"

namespace test_generate {

using namespace trol;

namespace {

// A float64 model with random weights: ties between logits are then practically impossible,
// so "the same tokens" is a meaningful check and not an accident of rounding.
TrolModel random_model(const std::string& family, bool tied, uint64_t seed) {
  auto config = test::tiny_config(family);
  config.llm.tie_word_embeddings = tied;
  TrolModel model(config);
  model->to(torch::kFloat64);
  test::randomize_parameters(*model, seed);
  return model;
}

std::vector<int64_t> random_prompt(int64_t length, int64_t vocab_without_image, uint64_t seed) {
  torch::manual_seed(seed);
  const auto ids = torch::randint(0, vocab_without_image, {length}, torch::kLong);
  return {ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + length};
}

// The definition of greedy decoding, one prompt, no shortcuts: a full model forward on the
// whole sequence per step, argmax of the last position.
std::vector<int64_t> reference_greedy(TrolModel& model, std::vector<int64_t> ids, const torch::Tensor& pixels,
                                      int64_t max_new_tokens) {
  torch::NoGradGuard no_grad;
  model->eval();
  std::vector<int64_t> out;
  for (int64_t step = 0; step < max_new_tokens; ++step) {
    const auto input = torch::tensor(ids, torch::kLong).unsqueeze(0);
    const auto logits = model->forward(ModelInputs{input, torch::ones_like(input), pixels, {}}).logits;
    const int64_t next = logits[0][-1].argmax().item<int64_t>();
    out.push_back(next);
    ids.push_back(next);
  }
  return out;
}

}  // namespace

TEST_CASE("a batch of prompts of different lengths generates what each prompt generates alone", "[generate]") {
  const std::string family = GENERATE(std::string("phi3"), std::string("internlm2"));
  const bool tied = GENERATE(false, true);
  INFO(family << (tied ? ", tied embeddings" : ""));
  auto model = random_model(family, tied, 21);
  const int64_t text_vocab = model->config().resolved_image_token_id();
  const std::vector<std::vector<int64_t>> prompts{
      random_prompt(9, text_vocab, 1), random_prompt(3, text_vocab, 2), random_prompt(6, text_vocab, 3)};
  GenerateOptions options;
  options.max_new_tokens = 6;

  const auto batched = generate_greedy(model, prompts, {}, options);
  REQUIRE(batched.size() == prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) {
    INFO("prompt " << i);
    CHECK(batched[i].size() == 6);
    CHECK(batched[i] == generate_greedy(model, {prompts[i]}, {}, options)[0]);
    CHECK(batched[i] == reference_greedy(model, prompts[i], {}, 6));
  }
  // The prompts really lead to different answers, so the comparison above can fail.
  CHECK((batched[0] != batched[1] || batched[1] != batched[2]));
}

TEST_CASE("the first generated token is the argmax of a plain forward on the prompt", "[generate]") {
  auto model = random_model("phi3", false, 22);
  const int64_t text_vocab = model->config().resolved_image_token_id();
  const std::vector<std::vector<int64_t>> prompts{random_prompt(5, text_vocab, 4), random_prompt(8, text_vocab, 5)};
  GenerateOptions options;
  options.max_new_tokens = 1;
  const auto generated = generate_greedy(model, prompts, {}, options);
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < prompts.size(); ++i) {
    const auto ids = torch::tensor(prompts[i], torch::kLong).unsqueeze(0);
    const auto logits = model->forward(test::text_only(ids)).logits;
    REQUIRE(generated[i].size() == 1);
    CHECK(generated[i][0] == logits[0][-1].argmax().item<int64_t>());
  }
}

TEST_CASE("a stop id ends its row early and is not returned", "[generate]") {
  auto model = random_model("phi3", false, 23);
  const int64_t text_vocab = model->config().resolved_image_token_id();
  const std::vector<std::vector<int64_t>> prompts{random_prompt(4, text_vocab, 6), random_prompt(7, text_vocab, 7)};
  GenerateOptions options;
  options.max_new_tokens = 8;
  const auto free_running = generate_greedy(model, prompts, {}, options);

  // Stop at the third token row 0 generates: greedy decoding is deterministic, so every row
  // must come back as its free-running answer cut before the stop id's first occurrence.
  const int64_t stop = free_running[0][2];
  options.stop_ids = {stop};
  const auto stopped = generate_greedy(model, prompts, {}, options);
  for (size_t i = 0; i < prompts.size(); ++i) {
    INFO("prompt " << i);
    const auto cut = std::find(free_running[i].begin(), free_running[i].end(), stop);
    CHECK(stopped[i] == std::vector<int64_t>(free_running[i].begin(), cut));
  }
  CHECK(stopped[0].size() <= 2);

  // A stop id generated first gives an empty answer.
  options.stop_ids = {free_running[0][0], free_running[1][0]};
  for (const auto& answer : generate_greedy(model, prompts, {}, options)) CHECK(answer.empty());
}

TEST_CASE("prompts with images generate in a batch what they generate alone", "[generate]") {
  auto model = random_model("phi3", false, 24);
  const auto& config = model->config();
  const int64_t image_token = config.resolved_image_token_id();
  const int64_t per_image = config.vision.tokens_per_image();
  // Prompt 0: one image after a token; prompt 1: two images; prompt 2: text only.
  auto prompt0 = random_prompt(6, image_token, 8);
  prompt0.insert(prompt0.begin() + 1, per_image, image_token);
  auto prompt1 = random_prompt(3, image_token, 9);
  prompt1.insert(prompt1.begin(), per_image, image_token);
  prompt1.insert(prompt1.end() - 1, per_image, image_token);
  const auto prompt2 = random_prompt(5, image_token, 10);
  torch::manual_seed(11);
  const auto pixels = torch::randn({3, 3, config.vision.image_size, config.vision.image_size}, torch::kFloat64);

  GenerateOptions options;
  options.max_new_tokens = 5;
  const auto batched = generate_greedy(model, {prompt0, prompt1, prompt2}, pixels, options);
  const auto alone0 = generate_greedy(model, {prompt0}, pixels.narrow(0, 0, 1), options);
  const auto alone1 = generate_greedy(model, {prompt1}, pixels.narrow(0, 1, 2), options);
  const auto alone2 = generate_greedy(model, {prompt2}, {}, options);
  CHECK(batched[0] == alone0[0]);
  CHECK(batched[1] == alone1[0]);
  CHECK(batched[2] == alone2[0]);
  CHECK(batched[0] == reference_greedy(model, prompt0, pixels.narrow(0, 0, 1), 5));
  // The image matters: other pixels, other answer (the check above would pass without images).
  const auto other = generate_greedy(model, {prompt0}, pixels.narrow(0, 2, 1) * 3, options);
  CHECK(other[0] != alone0[0]);
  // Pixel values in float32 are cast to the model's dtype.
  CHECK(generate_greedy(model, {prompt0}, pixels.narrow(0, 0, 1).to(torch::kFloat32), options)[0].size() == 5);
}

TEST_CASE("generation restores the training mode and rejects bad requests", "[generate]") {
  auto model = random_model("phi3", false, 25);
  const int64_t image_token = model->config().resolved_image_token_id();
  model->train();
  GenerateOptions options;
  CHECK(generate_greedy(model, {{1, 2, 3}}, {}, options)[0].size() == 8);
  CHECK(model->is_training());
  CHECK(generate_greedy(model, {}, {}, options).empty());
  options.max_new_tokens = 0;
  CHECK(generate_greedy(model, {{1, 2}}, {}, options) == std::vector<std::vector<int64_t>>{{}});
  options.max_new_tokens = 2;
  CHECK_THROWS_WITH(generate_greedy(model, {{1, 2}, {}}, {}, options), ContainsSubstring("prompt 1 is empty"));
  CHECK_THROWS_WITH(generate_greedy(model, {{1, 99}}, {}, options), ContainsSubstring("token id 99"));
  options.pad_id = image_token;
  CHECK_THROWS_WITH(generate_greedy(model, {{1, 2}}, {}, options), ContainsSubstring("image token id"));
  options.pad_id = 0;
  // Image tokens without pixels: the merge's error, not a crash.
  CHECK_THROWS_AS(generate_greedy(model, {{1, image_token, image_token, image_token, image_token}}, {}, options),
                  std::invalid_argument);
}

}  // namespace test_generate
