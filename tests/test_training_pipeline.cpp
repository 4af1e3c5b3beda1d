// From dataset files to trained weights: collation, the sampler, the background loader, the
// tokenizer/model agreement check, and a short training run whose loss must fall.
#include "tests/catch.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "data/batch_loader.h"
#include "data/chat_template.h"
#include "data/image_ops.h"
#include "data/shapes_dataset.h"
#include "data/training_set.h"
#include "test_helpers.h"
#include "tokenizer_fixture.h"
#include "train/checkpoint.h"
#include "train/trainer.h"
#include "trol/safetensors.h"

namespace test_training_pipeline {

using namespace trol;

namespace {

TrainingSample sample(const std::string& id, std::vector<int64_t> ids, std::vector<int64_t> labels) {
  return {id, std::move(ids), std::move(labels), {}};
}

// A small shapes dataset with its tokenizer, made once per test process.
const std::string& shapes_dataset() {
  static test::TempDir dir("pipeline");
  static const std::string root = [] {
    const auto out = dir.file("data");
    ShapesDatasetOptions options;
    options.out_dir = out;
    options.train_images = 64;
    options.eval_images = 16;
    options.image_size = 32;
    make_shapes_dataset(options);
    const auto chat = chat_template("tiny");
    train_sentencepiece(out + "/corpus.txt", out + "/tokenizer", 400, {"<image>", "<|user|>", "<|assistant|>", "<|end|>"},
                        0);
    return out;
  }();
  return root;
}

RunConfig tiny_run(const std::string& out_dir) {
  RunConfig config;
  config.model = test::tiny_config();
  config.model.llm.vocab_size = 400;
  config.model.llm.hidden_size = 32;
  config.model.vision.image_size = 32;
  config.model.vision.patch_size = 16;
  config.model.image_token_id = 4;
  config.data.root = shapes_dataset();
  config.data.max_length = 96;
  StageConfig stage;
  stage.name = "all";
  stage.datasets = {"captions.jsonl", "instruct_basic.jsonl"};
  stage.trainable = {{"vision", true}};
  stage.steps = 40;
  stage.batch_size = 8;
  stage.learning_rate = 3e-3;
  stage.warmup_steps = 3;
  config.train.stages = {stage};
  config.train.output_dir = out_dir;
  config.effective_yaml = "model: {}\n";
  return config;
}

}  // namespace

TEST_CASE("collate right-pads, masks and counts supervised tokens", "[pipeline]") {
  const auto a = sample("a", {1, 5, 6, 7}, {-100, -100, 6, 7});
  const auto b = sample("b", {1, 8}, {-100, 8});
  const auto batch = collate({&a, &b}, {}, 3);
  CHECK(torch::equal(batch.inputs.input_ids, torch::tensor({{1, 5, 6, 7}, {1, 8, 3, 3}}, torch::kLong)));
  CHECK(torch::equal(batch.inputs.attention_mask, torch::tensor({{1, 1, 1, 1}, {1, 1, 0, 0}}, torch::kLong)));
  CHECK(torch::equal(batch.inputs.labels, torch::tensor({{-100, -100, 6, 7}, {-100, 8, -100, -100}}, torch::kLong)));
  CHECK(batch.supervised_tokens == 3);
  CHECK(batch.tokens == 6);
  CHECK(batch.sample_ids == std::vector<std::string>{"a", "b"});
  CHECK_FALSE(batch.inputs.pixel_values.defined());
  // The count the trainer normalises by is the count the loss sums over.
  const auto logits = torch::randn({2, 4, 10});
  CHECK(causal_lm_loss(logits, batch.inputs.labels).num_tokens.item<int64_t>() == batch.supervised_tokens);
}

TEST_CASE("epochs are seeded permutations, length grouping keeps batches of similar length", "[pipeline]") {
  std::vector<TrainingSample> samples;
  for (int i = 0; i < 100; ++i) samples.push_back(sample(std::to_string(i), std::vector<int64_t>(1 + (i * 37) % 50, 1), {}));
  const auto order = epoch_order(samples, 10, 7, 0, false);
  CHECK(order == epoch_order(samples, 10, 7, 0, false));
  CHECK(order != epoch_order(samples, 10, 7, 1, false));
  CHECK(order != epoch_order(samples, 10, 8, 0, false));
  auto sorted = order;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i) REQUIRE(sorted[i] == i);

  const auto grouped = epoch_order(samples, 10, 7, 0, true);
  auto padding = [&](const std::vector<size_t>& o) {
    size_t pad = 0;
    for (size_t start = 0; start < o.size(); start += 10) {
      size_t longest = 0, total = 0;
      for (size_t i = start; i < start + 10; ++i) {
        longest = std::max(longest, samples[o[i]].input_ids.size());
        total += samples[o[i]].input_ids.size();
      }
      pad += longest * 10 - total;
    }
    return pad;
  };
  CHECK(padding(grouped) * 4 < padding(order));
}

TEST_CASE("the loader delivers the sampler's batches in order, and handles bad images by policy", "[pipeline]") {
  test::TempDir dir("loader");
  std::vector<TrainingSample> samples;
  for (int i = 0; i < 10; ++i) samples.push_back(sample("s" + std::to_string(i), {1, 2 + i, 3}, {-100, 2 + i, 3}));
  BatchLoaderOptions options;
  options.batch_size = 4;
  options.seed = 3;
  BatchLoader loader(samples, options);
  const auto order = epoch_order(samples, 4, 3, 0, false);
  for (size_t start = 0; start < 8; start += 4) {
    const auto batch = loader.next();
    for (size_t i = 0; i < 4; ++i) CHECK(batch.sample_ids[i] == samples[order[start + i]].id);
  }
  CHECK(loader.next().sample_ids.size() == 2);  // the epoch's remainder
  CHECK(loader.next().sample_ids.size() == 4);  // the next epoch
  // A loader started at a batch's sampler position continues exactly where that one would
  // have, across the epoch boundary (a resumed run's data).
  {
    BatchLoader reference(samples, options);
    std::vector<Batch> uninterrupted;
    for (int i = 0; i < 7; ++i) uninterrupted.push_back(reference.next());
    CHECK(uninterrupted[1].sampler_position == 2);
    CHECK(uninterrupted[4].sampler_position == 5);  // 3 batches per epoch: the second epoch's second batch
    for (int from : {1, 2, 3, 5}) {
      auto resumed_options = options;
      resumed_options.start_position = uninterrupted[from - 1].sampler_position;
      BatchLoader resumed(samples, resumed_options);
      for (int i = from; i < 7; ++i) {
        const auto batch = resumed.next();
        CHECK(batch.sample_ids == uninterrupted[i].sample_ids);
        CHECK(batch.sampler_position == uninterrupted[i].sampler_position);
      }
    }
  }
  // Options that would leave the worker and next() waiting on each other are refused.
  auto no_room = options;
  no_room.prefetch = 0;
  CHECK_THROWS_WITH(BatchLoader(samples, no_room), ContainsSubstring("prefetch must be at least 1"));
  auto no_batch = options;
  no_batch.batch_size = 0;
  CHECK_THROWS_WITH(BatchLoader(samples, no_batch), ContainsSubstring("batch_size must be at least 1"));

  std::vector<TrainingSample> with_image{sample("good", {1, 4, 2}, {-100, -100, 2}), sample("bad", {1, 4, 2}, {-100, -100, 2})};
  with_image[0].image_paths = {shapes_dataset() + "/images/train/000000.png"};
  with_image[1].image_paths = {dir.write("broken.png", "not a png")};
  options.batch_size = 2;
  options.image_size = 32;
  {
    BatchLoader skipping(with_image, options);
    const auto batch = skipping.next();
    CHECK(batch.sample_ids == std::vector<std::string>{"good"});
    CHECK(batch.inputs.pixel_values.sizes() == torch::IntArrayRef({1, 3, 32, 32}));
    CHECK(skipping.skipped_images() >= 1);  // the worker may already have met it again, in the next epoch
  }
  options.skip_bad_images = false;
  BatchLoader failing(with_image, options);
  CHECK_THROWS_WITH(failing.next(), ContainsSubstring("sample 'bad'") && ContainsSubstring("broken.png"));
}

TEST_CASE("dynamic tiling: image runs sized from the headers, filled by the loader's tiles, taken by the model",
          "[pipeline]") {
  test::TempDir dir("tiling");
  auto config = tiny_run(dir.file("run"));
  config.data.image_root = dir.path().string();
  config.data.tiling = {1, 6, true};
  config.data.max_length = 200;
  // Wide (3 x 1 tiles + thumbnail), tall (1 x 2 + thumbnail), small square (one tile) images,
  // in formats the header reader knows.
  const std::vector<std::pair<std::string, cv::Size>> images{{"wide.png", {96, 32}}, {"tall.jpg", {32, 64}}, {"small.bmp", {20, 20}}};
  for (const auto& [name, size] : images) {
    cv::Mat image(size, CV_8UC3, cv::Scalar(40, 90, 200));
    cv::circle(image, {size.width / 2, size.height / 2}, 6, cv::Scalar(250, 250, 250), -1);
    REQUIRE(cv::imwrite(dir.file(name), image));
  }
  const auto conversations = dir.write("tiled.json", R"([
    {"id": "wide", "image": "wide.png", "conversations": [{"from": "human", "value": "<image>\nDescribe the image."}, {"from": "gpt", "value": "A circle."}]},
    {"id": "two", "conversations": [{"from": "human", "value": "<image>\n<image>\nWhich is taller?"}, {"from": "gpt", "value": "The second."}], "image": ["small.bmp", "tall.jpg"]},
    {"id": "gone", "image": "missing.png", "conversations": [{"from": "human", "value": "<image>\nHi"}, {"from": "gpt", "value": "Hi."}]}
  ])");
  const auto set = build_training_set(config.data, {conversations}, config.model);
  CHECK(set.bad_records == 1);  // the missing image, found when its run is sized
  REQUIRE(set.samples.size() == 2);
  const int64_t per_tile = config.model.vision.tokens_per_image();
  const auto image_tokens = [&](const TrainingSample& s) {
    return std::count(s.input_ids.begin(), s.input_ids.end(), config.model.image_token_id);
  };
  // Independently: the tiles InternVL's rule cuts from the decoded images.
  const auto tiles_of = [&](const std::string& name) {
    return int64_t(dynamic_tiles(load_rgb(dir.file(name)), 32, 1, 6, true).size());
  };
  CHECK(tiles_of("wide.png") == 4);
  CHECK(tiles_of("tall.jpg") == 3);
  CHECK(tiles_of("small.bmp") == 1);
  CHECK(set.samples[0].image_tiles == std::vector<int64_t>{4});
  CHECK(image_tokens(set.samples[0]) == 4 * per_tile);
  CHECK(set.samples[1].image_tiles == std::vector<int64_t>{1, 3});
  CHECK(image_tokens(set.samples[1]) == 4 * per_tile);

  BatchLoaderOptions options;
  options.batch_size = 2;
  options.image_size = 32;
  options.tiling = config.data.tiling;
  options.skip_bad_images = false;
  BatchLoader loader(set.samples, options);
  const auto batch = loader.next();
  REQUIRE(batch.inputs.pixel_values.sizes() == torch::IntArrayRef({8, 3, 32, 32}));
  // The tiles come in the batch's sample order, each sample's images in placeholder order.
  std::vector<torch::Tensor> expected;
  for (const auto& id : batch.sample_ids) {
    for (const auto& path : set.samples[id == "wide" ? 0 : 1].image_paths) {
      expected.push_back(image_to_tiles(load_rgb(path), 32, config.data.tiling, config.data.image_mean, config.data.image_std));
    }
  }
  CHECK(torch::equal(batch.inputs.pixel_values, torch::cat(expected)));
  TrolModel model(config.model);
  const auto out = model->forward(batch.inputs);  // every image position gets a tile's feature row
  CHECK(out.logits.size(0) == 2);

  config.data.on_error = "fail";
  CHECK_THROWS_WITH(build_training_set(config.data, {conversations}, config.model),
                    ContainsSubstring("gone") && ContainsSubstring("missing.png': file not found"));
}

TEST_CASE("a tokenizer that disagrees with the model is refused before training", "[pipeline]") {
  auto config = tiny_run("unused");
  const auto tokenizer = load_tokenizer(config.data);
  config.model.image_token_id = 5;
  CHECK_THROWS_WITH(check_tokenizer_matches_model(tokenizer, config.data, config.model),
                    ContainsSubstring("image token '<image>' is id 4") && ContainsSubstring("set model.image_token_id: 4"));
  config.model.image_token_id = 4;
  config.model.llm.vocab_size = 100;
  CHECK_THROWS_WITH(check_tokenizer_matches_model(tokenizer, config.data, config.model),
                    ContainsSubstring("has 400 tokens but model.llm.vocab_size is 100"));
}

TEST_CASE("a short training run on the shapes dataset lowers the loss and checkpoints its weights", "[pipeline]") {
  test::TempDir dir("train");
  Trainer trainer(tiny_run(dir.file("run")));
  const auto result = trainer.train().at(0);
  REQUIRE(result.losses.size() == 40);
  const double first = (result.losses[0] + result.losses[1] + result.losses[2]) / 3;
  const double last = (result.losses[37] + result.losses[38] + result.losses[39]) / 3;
  INFO("first " << first << ", last " << last);
  CHECK(last < 0.75 * first);
  TrolModel reloaded(trainer.config().model);
  load_model_weights(result.checkpoint + "/model.safetensors", *reloaded);
  auto params = reloaded->named_parameters();
  for (const auto& p : trainer.model()->named_parameters()) CHECK(torch::equal(p.value(), params[p.key()]));
  CHECK(std::filesystem::exists(dir.file("run/metrics.jsonl")));
}

TEST_CASE("a run whose steps keep failing stops after train.max_bad_steps, naming them", "[pipeline]") {
  test::TempDir dir("bad_steps");
  auto config = tiny_run(dir.file("run"));
  {
    TrolModel poisoned(config.model);
    torch::NoGradGuard no_grad;
    poisoned->named_parameters()["model.norm.weight"].fill_(std::numeric_limits<float>::quiet_NaN());
    save_safetensors(dir.file("nan.safetensors"), [&] {
      NamedTensors tensors;
      for (const auto& p : poisoned->named_parameters()) tensors.emplace_back(p.key(), p.value());
      for (const auto& b : poisoned->named_buffers()) tensors.emplace_back(b.key(), b.value());
      return tensors;
    }());
  }
  config.train.init_from = dir.file("nan.safetensors");
  config.train.max_bad_steps = 3;
  Trainer trainer(config);
  CHECK_THROWS_WITH(trainer.train(), ContainsSubstring("stage 'all': 3 steps in a row with a non-finite loss") &&
                                         ContainsSubstring("train.max_bad_steps"));
}

TEST_CASE("a stage cannot train decoder weights that are stored quantized", "[pipeline]") {
  test::TempDir dir("quantized_llm");
  auto config = tiny_run(dir.file("run"));
  config.model.quantize = "int8";
  config.train.stages[0].trainable = {{"llm", true}};
  Trainer trainer(config);
  CHECK_THROWS_WITH(trainer.train(), ContainsSubstring("train.stages[0].trainable.llm") &&
                                         ContainsSubstring("model.quantize: int8"));
}

}  // namespace test_training_pipeline
