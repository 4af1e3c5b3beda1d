// The assembled model: image-feature merge, loss, weight names, parameter groups.
#include "tests/catch.h"

#include <filesystem>

#include "data/synthetic_batch.h"
#include "test_helpers.h"
#include "train/run_config.h"
#include "trol/generate.h"
#include "trol/image_merge.h"
#include "trol/param_groups.h"
#include "trol/parameter_count.h"

namespace test_model {

using namespace trol;

TEST_CASE("image features land at the image-token positions in reading order", "[merge]") {
  const int64_t hidden = 3;
  const auto text = torch::zeros({2, 6, hidden});
  // Sample 0 holds image A (2 tokens) at positions 1-2; sample 1 holds images B and C at 0-1 and 3-4.
  const auto mask = torch::tensor({{0, 1, 1, 0, 0, 0}, {1, 1, 0, 1, 1, 0}}, torch::kBool);
  const auto features = torch::arange(1, 1 + 3 * 2 * hidden, torch::kFloat32).reshape({3, 2, hidden});
  const auto merged = merge_image_features(text, mask, features);
  const std::vector<std::tuple<int, int, int, int>> expected{
      // batch, position, image, token
      {0, 1, 0, 0}, {0, 2, 0, 1}, {1, 0, 1, 0}, {1, 1, 1, 1}, {1, 3, 2, 0}, {1, 4, 2, 1}};
  for (const auto& [b, t, image, token] : expected) {
    CHECK(torch::equal(merged[b][t], features[image][token]));
  }
  CHECK(torch::equal(merged[0][0], torch::zeros({hidden})));
  CHECK(torch::equal(merged[1][5], torch::zeros({hidden})));
  // The count known beforehand (counted on the host) gives the same merge.
  CHECK(torch::equal(merge_image_features(text, mask, features, 6), merged));
}

TEST_CASE("a mismatch between image tokens and features is a clear error", "[merge]") {
  const auto text = torch::zeros({1, 5, 4});
  const auto mask = torch::tensor({{0, 1, 1, 1, 0}}, torch::kBool);
  CHECK_THROWS_WITH(merge_image_features(text, mask, torch::zeros({1, 2, 4})),
                    ContainsSubstring("3 image-token positions") && ContainsSubstring("1 image tile(s) x 2 tokens = 2"));
  CHECK_THROWS_WITH(merge_image_features(text, mask, torch::Tensor()), ContainsSubstring("0 feature rows"));
  CHECK_THROWS_WITH(merge_image_features(text, mask, torch::zeros({1, 2, 4}), 3),
                    ContainsSubstring("3 image-token positions") && ContainsSubstring("= 2 feature rows"));
  CHECK_THROWS_WITH(merge_image_features(text, mask, torch::zeros({1, 3, 5})), ContainsSubstring("5 wide"));

  // Through the whole model: two images' worth of tokens but one image.
  auto config = test::tiny_config();
  TrolModel model(config);
  SyntheticBatchShape shape;
  shape.batch_size = 1;
  shape.images_per_sample = 2;
  shape.seq_len = 2 * config.vision.tokens_per_image() + 8;
  auto batch = synthetic_batch(config, shape, 1);
  batch.pixel_values = batch.pixel_values.narrow(0, 0, 1);
  CHECK_THROWS_AS(model->forward(batch), std::invalid_argument);
}

TEST_CASE("the loss is next-token cross-entropy over supervised labels only", "[loss]") {
  torch::manual_seed(41);
  const auto logits = torch::randn({2, 4, 5}, torch::kFloat64);
  const auto labels = torch::tensor({{-100, 3, -100, 1}, {-100, -100, -100, 4}}, torch::kLong);
  const auto loss = causal_lm_loss(logits, labels);
  // By hand: position t predicts labels[t + 1].
  double sum = 0;
  int count = 0;
  for (int b = 0; b < 2; ++b)
    for (int t = 0; t < 3; ++t) {
      const int64_t label = labels[b][t + 1].item<int64_t>();
      if (label == -100) continue;
      const auto row = logits[b][t];
      sum += (torch::logsumexp(row, 0) - row[label]).item<double>();
      ++count;
    }
  CHECK(loss.num_tokens.item<int64_t>() == 3);
  CHECK(loss.sum.item<double>() == Approx(sum).epsilon(1e-12));
  CHECK(loss.mean.item<double>() == Approx(sum / count).epsilon(1e-12));
  // In chunks of one, two and three rows of the vocabulary: the same sum, the same gradient.
  const auto whole_logits = logits.clone().requires_grad_();
  causal_lm_loss(whole_logits, labels).sum.backward();
  for (int64_t rows : {1, 2, 3}) {
    INFO(rows << " row(s) per chunk");
    const auto chunked_logits = logits.clone().requires_grad_();
    const auto chunked = causal_lm_loss(chunked_logits, labels, /*chunk_elements=*/rows * 5);
    CHECK(chunked.sum.item<double>() == Approx(sum).epsilon(1e-12));
    chunked.sum.backward();
    CHECK(torch::allclose(chunked_logits.grad(), whole_logits.grad(), 1e-12, 1e-14));
  }
  const auto none = causal_lm_loss(logits, torch::full({2, 4}, -100, torch::kLong));
  CHECK(none.num_tokens.item<int64_t>() == 0);
  CHECK(none.mean.item<double>() == 0.0);
}

TEST_CASE("weight names follow the Hugging Face layout of each backbone", "[model]") {
  auto phi3 = TrolModel(test::tiny_config("phi3"))->named_parameters();
  for (const char* name : {"model.embed_tokens.weight", "model.layers.0.self_attn.qkv_proj.weight",
                           "model.layers.0.self_attn.o_proj.weight", "model.layers.1.mlp.gate_up_proj.weight",
                           "model.layers.1.mlp.down_proj.weight", "model.layers.0.input_layernorm.weight",
                           "model.layers.0.post_attention_layernorm.weight", "model.norm.weight", "lm_head.weight",
                           "model.trol_gating.0.weight", "model.trol_gating.1.bias",
                           "vision_model.embeddings.patch_embedding.weight", "vision_model.embeddings.class_embedding",
                           "vision_model.embeddings.position_embedding.weight", "vision_model.pre_layrnorm.weight",
                           "vision_model.encoder.layers.1.self_attn.q_proj.weight",
                           "vision_model.encoder.layers.1.mlp.fc2.bias", "vision_proj.0.weight"}) {
    INFO(name);
    CHECK(phi3.contains(name));
  }
  auto internlm2 = TrolModel(test::tiny_config("internlm2"))->named_parameters();
  for (const char* name : {"model.tok_embeddings.weight", "model.layers.0.attention.wqkv.weight",
                           "model.layers.0.attention.wo.weight", "model.layers.0.feed_forward.w1.weight",
                           "model.layers.0.feed_forward.w3.weight", "model.layers.0.feed_forward.w2.weight",
                           "model.layers.0.attention_norm.weight", "model.layers.0.ffn_norm.weight", "output.weight"}) {
    INFO(name);
    CHECK(internlm2.contains(name));
  }
  const auto& llm = test::tiny_config().llm;
  CHECK(phi3["model.layers.0.self_attn.qkv_proj.weight"].sizes() ==
        torch::IntArrayRef({(llm.num_heads + 2 * llm.num_kv_heads) * llm.head_dim(), llm.hidden_size}));
  CHECK(phi3["model.layers.0.mlp.gate_up_proj.weight"].sizes() ==
        torch::IntArrayRef({2 * llm.intermediate_size, llm.hidden_size}));
}

TEST_CASE("tied embeddings: no separate head, logits use the embedding matrix", "[model]") {
  auto config = test::tiny_config();
  config.vision.enabled = false;
  config.llm.tie_word_embeddings = true;
  TrolModel model(config);
  CHECK_FALSE(model->named_parameters().contains("lm_head.weight"));
  torch::NoGradGuard no_grad;
  const auto ids = torch::randint(0, 36, {1, 4}, torch::kLong);
  const auto out = model->forward(test::text_only(ids), false);
  const auto hidden = model->model->forward(model->model->embed(ids), torch::ones_like(ids)).hidden;
  CHECK(torch::allclose(out.logits, torch::matmul(hidden, model->model->embed->weight.t()), 1e-6, 1e-6));
}

TEST_CASE("the TroL InternLM2 vocabulary: the image token's embedding row past the head's", "[model]") {
  auto config = test::tiny_config("internlm2");
  config.llm.extra_embedding_rows = 1;  // nn.Embedding(vocab_size + 1), nn.Linear(hidden, vocab_size)
  validate(config);
  const auto image = config.llm.vocab_size;  // the default image token: the embedding's last row
  CHECK(config.resolved_image_token_id() == image);
  TrolModel model(config);
  auto parameters = model->named_parameters();
  CHECK(parameters["model.tok_embeddings.weight"].sizes() == torch::IntArrayRef({config.llm.vocab_size + 1, 16}));
  CHECK(parameters["output.weight"].sizes() == torch::IntArrayRef({config.llm.vocab_size, 16}));
  CHECK(count_parameters(config).llm == ParameterGroups().count(*model).at("llm").first);

  const auto per_image = config.vision.tokens_per_image();
  auto ids = torch::tensor({int64_t{3}, int64_t{5}}, torch::kLong);
  ids = torch::cat({ids, torch::full({per_image}, image, torch::kLong), torch::tensor({int64_t{7}, int64_t{36}})}).unsqueeze(0);
  auto labels = ids.masked_fill(ids.eq(image), -100);
  const auto pixels = torch::randn({1, 3, 8, 8});
  ModelInputs inputs{ids, torch::ones_like(ids), pixels, labels};
  const auto out = model->forward(inputs, false);
  CHECK(out.logits.sizes() == torch::IntArrayRef({1, ids.size(1), config.llm.vocab_size}));
  CHECK(std::isfinite(out.loss.sum.item<double>()));

  // Generation reads the image token from the prompt, penalises repeats among the logits only,
  // and generates only ids the head predicts.
  model->eval();
  GenerateOptions options;
  options.max_new_tokens = 4;
  options.repetition_penalty = 1.5;
  const std::vector<int64_t> prompt(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + ids.numel());
  const auto generated = generate_greedy(model, {prompt}, pixels, options);
  REQUIRE(generated.size() == 1);
  CHECK(generated[0].size() == 4);
  for (const auto id : generated[0]) CHECK(id < config.llm.vocab_size);
}

TEST_CASE("extra embedding rows are validated against the head and the image token", "[config]") {
  auto config = test::tiny_config("internlm2");
  config.llm.extra_embedding_rows = -1;
  CHECK_THROWS_WITH(validate(config), ContainsSubstring("model.llm.extra_embedding_rows: must be 0 or positive, got -1"));
  config.llm.extra_embedding_rows = 1;
  config.llm.tie_word_embeddings = true;
  CHECK_THROWS_WITH(validate(config), ContainsSubstring("model.llm.tie_word_embeddings: a tied LM head is the embedding itself"));
  config.llm.tie_word_embeddings = false;
  config.image_token_id = config.llm.vocab_size + 1;
  CHECK_THROWS_WITH(validate(config), ContainsSubstring("model.image_token_id: (38) must be below model.llm.vocab_size (37) + "
                                                        "model.llm.extra_embedding_rows (1)"));
  config.image_token_id = config.llm.vocab_size;
  CHECK_NOTHROW(validate(config));
  config.llm.extra_embedding_rows = 0;
  CHECK_THROWS_WITH(validate(config), ContainsSubstring("model.image_token_id: (37) must be below model.llm.vocab_size (37)"));
}

TEST_CASE("parameter groups freeze and unfreeze the paper's training stages", "[model]") {
  TrolModel model(test::tiny_config());
  const ParameterGroups groups;
  // The vision encoder is built frozen; everything else trainable.
  for (const auto& [group, counts] : groups.count(*model)) {
    INFO(group);
    CHECK(counts.second == (group == "vision" ? 0 : counts.first));
  }
  CHECK(groups.group_of("vision_model.embeddings.class_embedding") == "vision");
  CHECK(groups.group_of("vision_proj.2.weight") == "projector");
  CHECK(groups.group_of("model.trol_gating.0.weight") == "mixer");
  CHECK(groups.group_of("model.layers.0.mlp.down_proj.weight") == "llm");
  CHECK(groups.group_of("lm_head.weight") == "llm");

  // Step 1: projector and mixers only.
  groups.set_trainable(*model, {{"vision", false}, {"llm", false}, {"projector", true}, {"mixer", true}});
  for (const auto& p : model->named_parameters()) {
    const auto& group = groups.group_of(p.key());
    INFO(p.key());
    CHECK(p.value().requires_grad() == (group == "projector" || group == "mixer"));
  }
  auto counts = groups.count(*model);
  CHECK(counts["llm"].second == 0);
  CHECK(counts["mixer"].second == counts["mixer"].first);
  // Step 2 adds the backbone.
  groups.set_trainable(*model, {{"llm", true}});
  CHECK(groups.count(*model)["llm"].second == groups.count(*model)["llm"].first);
  CHECK(groups.count(*model)["vision"].second == 0);

  CHECK_THROWS_WITH(groups.set_trainable(*model, {{"mixers", true}}),
                    ContainsSubstring("unknown parameter group 'mixers'") && ContainsSubstring("mixer"));
  CHECK_THROWS_WITH(groups.group_of("something.else"), ContainsSubstring("matches no parameter group"));
}

TEST_CASE("a training step through a frozen backbone updates only the trainable groups", "[model]") {
  auto config = test::tiny_config();
  TrolModel model(config);
  test::randomize_parameters(*model, 42, 0.1);
  const ParameterGroups groups;
  groups.set_trainable(*model, {{"vision", false}, {"llm", false}});
  std::map<std::string, torch::Tensor> before;
  for (const auto& p : model->named_parameters()) before[p.key()] = p.value().clone();
  std::vector<torch::Tensor> trainable;
  for (auto& p : model->parameters())
    if (p.requires_grad()) trainable.push_back(p);
  torch::optim::SGD sgd(trainable, torch::optim::SGDOptions(0.1));
  const auto batch = synthetic_batch(config, SyntheticBatchShape{}, 43);
  model->forward(batch).loss.mean.backward();
  sgd.step();
  for (const auto& p : model->named_parameters()) {
    const auto& group = groups.group_of(p.key());
    INFO(p.key());
    CHECK(torch::equal(p.value(), before[p.key()]) == (group == "vision" || group == "llm"));
  }
}

TEST_CASE("every shipped config builds its model", "[config]") {
  int checked = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(std::string(TROL_SOURCE_DIR) + "/configs")) {
    if (entry.path().extension() != ".yaml") continue;
    INFO(entry.path());
    const auto config = load_run_config(entry.path().string());
    // The released sizes' recipes are too big to build here; test_parameter_count.cpp builds
    // them at reduced width.
    if (count_parameters(config.model).total() < 1'000'000'000) CHECK_NOTHROW(TrolModel(config.model));
    ++checked;
  }
  CHECK(checked >= 1);
}

}  // namespace test_model
