// Trainer building blocks: safetensors, checkpoints, the schedule, decay groups, stage configs.
#include "tests/catch.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "test_helpers.h"
#include "train/checkpoint.h"
#include "train/optimizer.h"
#include "train/run_config.h"
#include "train/tensorboard.h"
#include "train/training_checkpoint.h"
#include "trol/config_reader.h"
#include "trol/param_groups.h"
#include "trol/safetensors.h"

namespace test_train {

using namespace trol;

namespace {

std::filesystem::path temp_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("trol_test_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace

TEST_CASE("safetensors round-trips every dtype bit-exactly, with metadata", "[safetensors]") {
  const auto dir = temp_dir("st");
  torch::manual_seed(51);
  const NamedTensors tensors{{"f32", torch::randn({3, 4})},
                             {"bf16", torch::randn({5}).to(torch::kBFloat16)},
                             {"f16", torch::randn({2, 2}).to(torch::kFloat16)},
                             {"i64", torch::arange(7, torch::kLong)},
                             {"u8", torch::randint(0, 255, {9}, torch::kUInt8)},
                             {"scalar", torch::tensor(3.5)},
                             {"empty", torch::zeros({0, 3})},
                             {"strided", torch::randn({4, 6}).t()}};
  const auto file = (dir / "x.safetensors").string();
  save_safetensors(file, tensors, {{"format", "pt"}});
  const auto loaded = load_safetensors(file);
  CHECK(loaded.metadata.at("format") == "pt");
  REQUIRE(loaded.tensors.size() == tensors.size());
  for (const auto& [name, tensor] : tensors) {
    INFO(name);
    const auto& back = loaded.tensors.at(name);
    CHECK(back.scalar_type() == tensor.scalar_type());
    CHECK(torch::equal(back, tensor));
  }
  // The header is readable as the format says: 8-byte length, then JSON naming each tensor.
  std::ifstream in(file, std::ios::binary);
  uint64_t length = 0;
  in.read(reinterpret_cast<char*>(&length), 8);
  std::string header(length, '\0');
  in.read(header.data(), static_cast<std::streamsize>(length));
  CHECK_THAT(header, ContainsSubstring("\"f32\":{\"dtype\":\"F32\",\"shape\":[3,4],\"data_offsets\":[0,48]}"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("damaged safetensors files are clear errors", "[safetensors]") {
  const auto dir = temp_dir("st_bad");
  const auto file = (dir / "x.safetensors").string();
  save_safetensors(file, {{"w", torch::randn({64})}});
  std::filesystem::resize_file(file, std::filesystem::file_size(file) - 10);
  CHECK_THROWS_WITH(load_safetensors(file), ContainsSubstring("tensor 'w'") && ContainsSubstring("truncated"));
  std::ofstream(file, std::ios::binary | std::ios::trunc) << "abc";
  CHECK_THROWS_WITH(load_safetensors(file), ContainsSubstring("truncated safetensors file"));
  std::ofstream(file, std::ios::binary | std::ios::trunc) << std::string("\x04\0\0\0\0\0\0\0{bad", 12);
  CHECK_THROWS_WITH(load_safetensors(file), ContainsSubstring("bad safetensors header"));
  CHECK_THROWS_WITH(load_safetensors((dir / "missing").string()), ContainsSubstring("cannot open"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("stage checkpoints restore the model exactly and refuse a different model", "[checkpoint]") {
  const auto dir = temp_dir("ckpt");
  TrolModel model(test::tiny_config());
  test::randomize_parameters(*model, 52);
  const auto folder = save_stage_checkpoint((dir / "s").string(), *model, "model: {}\n", {{"stage", "s"}});
  CHECK(std::filesystem::exists(folder + "/trainer_state.json"));
  CHECK(std::filesystem::exists(folder + "/config.yaml"));
  TrolModel restored(test::tiny_config());
  load_model_weights(folder + "/model.safetensors", *restored);
  auto params = restored->named_parameters();
  for (const auto& p : model->named_parameters()) CHECK(torch::equal(p.value(), params[p.key()]));

  auto other = test::tiny_config();
  other.llm.num_layers = 3;
  other.llm.hidden_size = 24;
  TrolModel different(other);
  CHECK_THROWS_WITH(load_model_weights(folder + "/model.safetensors", *different),
                    ContainsSubstring("missing: model.layers.2.") && ContainsSubstring("shape of model.norm.weight"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("resumable checkpoints restore weights, optimizer state and generator, damage is found", "[checkpoint]") {
  namespace fs = std::filesystem;
  const auto dir = temp_dir("resumable");
  const auto checkpoints = (dir / "checkpoints").string();
  TrolModel model(test::tiny_config());
  ParameterGroups().set_trainable(*model, {{"llm", false}});
  std::set<std::string> trained;
  for (const auto& p : model->named_parameters()) {
    if (p.value().requires_grad()) trained.insert(p.key());
  }
  const auto trainable = trainable_parameters(*model);
  torch::optim::AdamW adamw(trainable, torch::optim::AdamWOptions(1e-2));
  for (int step = 0; step < 2; ++step) {  // moments that are not zero
    adamw.zero_grad();
    for (auto& p : trainable) p.mutable_grad() = torch::randn_like(p);
    adamw.step();
  }
  TrainingState state;
  state.global_step = 7;
  state.stage_index = 1;
  state.stage_step = 3;
  state.stage_names = {"a", "b"};
  state.loader_position = 11;
  state.stage.name = "b";
  state.stage.losses = {2.5, 0.1 + 0.2};  // not short decimals: JSON must keep every bit
  state.completed.push_back({"a", {3.0}, "ckpt/a", 1.5, 99});
  torch::manual_seed(5);
  const auto expected_draw = torch::rand({4});
  torch::manual_seed(5);
  const CheckpointContents contents{&state, &*model, &trained, &adamw, "model: {}\n"};
  std::string folder;
  for (int64_t step : {3, 5, 7}) {
    state.global_step = step;
    folder = write_training_checkpoint(checkpoints, contents, 2);
  }
  CHECK(folder == checkpoints + "/step-7");
  CHECK_FALSE(fs::exists(checkpoints + "/step-3"));  // only the newest two are kept
  CHECK(fs::exists(checkpoints + "/step-5"));
  torch::rand({3});  // moves the generator on: restoring must put it back

  const auto read = read_training_checkpoint(folder);
  CHECK(read.global_step == 7);
  CHECK(read.stage_step == 3);
  CHECK(read.loader_position == 11);
  CHECK(read.stage.losses == state.stage.losses);
  REQUIRE(read.completed.size() == 1);
  CHECK(read.completed[0].tokens == 99);

  TrolModel fresh(test::tiny_config());
  test::randomize_parameters(*fresh, 9);
  ParameterGroups().set_trainable(*fresh, {{"llm", false}});
  torch::optim::AdamW fresh_adamw(trainable_parameters(*fresh), torch::optim::AdamWOptions(1e-2));
  const auto loaded = restore_training_checkpoint(folder, *fresh, fresh_adamw);
  CHECK(std::set<std::string>(loaded.begin(), loaded.end()) == trained);
  auto fresh_params = fresh->named_parameters();
  for (const auto& name : trained) CHECK(torch::equal(fresh_params[name], model->named_parameters()[name]));
  CHECK(torch::equal(torch::rand({4}), expected_draw));
  // The next update is the same as the original optimizer's.
  for (auto* opt : {&adamw, &fresh_adamw}) {
    opt->zero_grad();
    for (auto& group : opt->param_groups())
      for (auto& p : group.params()) p.mutable_grad() = torch::ones_like(p);
    opt->step();
  }
  for (const auto& name : trained) CHECK(torch::equal(fresh_params[name], model->named_parameters()[name]));

  // Damage: a changed byte, a truncated file, a missing manifest (a half-written folder).
  {
    std::fstream f(folder + "/optimizer.safetensors", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(200);
    f.put('\x7f');
  }
  CHECK_THROWS_WITH(read_training_checkpoint(folder), ContainsSubstring("optimizer.safetensors does not match its checksum"));
  CHECK(find_latest_checkpoint(checkpoints) == checkpoints + "/step-5");
  fs::resize_file(checkpoints + "/step-5/model.safetensors", 100);
  CHECK_THROWS_WITH(read_training_checkpoint(checkpoints + "/step-5"), ContainsSubstring("model.safetensors has 100 bytes"));
  CHECK_FALSE(find_latest_checkpoint(checkpoints).has_value());
  fs::remove(checkpoints + "/step-5/manifest.json");
  CHECK_THROWS_WITH(read_training_checkpoint(checkpoints + "/step-5"), ContainsSubstring("manifest.json is missing"));
  CHECK_THROWS_WITH(read_training_checkpoint(checkpoints + "/step-99"), ContainsSubstring("no such checkpoint folder"));
  fs::remove_all(dir);
}

TEST_CASE("CRC-32C matches the published check values", "[tensorboard]") {
  CHECK(crc32c("123456789") == 0xE3069283u);  // RFC 3720 / the Castagnoli check value
  CHECK(crc32c("") == 0u);
  CHECK(crc32c(std::string(32, '\0')) == 0x8A9136AAu);  // RFC 3720 B.4: 32 bytes of zeros
}

TEST_CASE("learning rate: linear warm-up, then cosine down to the floor", "[schedule]") {
  StageConfig stage;
  stage.steps = 110;
  stage.warmup_steps = 10;
  stage.learning_rate = 1e-3;
  stage.min_lr_ratio = 0.1;
  CHECK(learning_rate_at(stage, 0) == Approx(1e-4));
  CHECK(learning_rate_at(stage, 4) == Approx(5e-4));
  CHECK(learning_rate_at(stage, 9) == Approx(1e-3));
  CHECK(learning_rate_at(stage, 10) == Approx(1e-3));
  // Half-way through the decay: the mean of peak and floor.
  CHECK(learning_rate_at(stage, 10 + 99 / 2.0) == Approx(0.55e-3).epsilon(0.02));
  CHECK(learning_rate_at(stage, 109) == Approx(1e-4));
  for (int64_t s = 10; s < 109; ++s) CHECK(learning_rate_at(stage, s + 1) <= learning_rate_at(stage, s));
}

TEST_CASE("weight decay skips norms, biases and TroL gates", "[schedule]") {
  TrolModel model(test::tiny_config());
  for (const auto& p : model->named_parameters()) {
    INFO(p.key());
    const bool expected = p.value().dim() >= 2 && p.key().find("trol_gating") == std::string::npos;
    CHECK(decays(p.key(), p.value()) == expected);
  }
  CHECK_FALSE(decays("model.trol_gating.0.weight", torch::zeros({1, 16})));
  CHECK_FALSE(decays("model.norm.weight", torch::zeros({16})));
  CHECK(decays("model.layers.0.mlp.down_proj.weight", torch::zeros({16, 24})));
}

TEST_CASE("learning_rate_scale multiplies the scheduled rate of one parameter group only", "[schedule]") {
  TrolModel model(test::tiny_config());
  for (auto& p : model->parameters()) p.set_requires_grad(true);
  StageConfig stage;
  stage.name = "s";
  stage.weight_decay = 0.1;
  stage.learning_rate_scale = {{"vision", 5.0}};
  auto optimizer = make_optimizer(*model, stage);
  optimizer.set_learning_rate(2e-4);
  // Every trainable parameter is in exactly one AdamW group, whose rate is its model group's.
  std::map<const void*, double> rate_of;
  for (const auto& group : optimizer.adamw->param_groups()) {
    const double lr = static_cast<const torch::optim::AdamWOptions&>(group.options()).lr();
    for (const auto& p : group.params()) CHECK(rate_of.emplace(p.data_ptr(), lr).second);
  }
  const ParameterGroups groups;
  for (const auto& p : model->named_parameters()) {
    INFO(p.key());
    REQUIRE(rate_of.count(p.value().data_ptr()) == 1);
    CHECK(rate_of.at(p.value().data_ptr()) == Approx(groups.group_of(p.key()) == "vision" ? 1e-3 : 2e-4));
  }
  stage.learning_rate_scale = {{"visoin", 2.0}};
  CHECK_THROWS_WITH(make_optimizer(*model, stage), ContainsSubstring("unknown parameter group 'visoin'"));
}

TEST_CASE("stage configs are read and checked, naming the stage key", "[config]") {
  const auto dir = temp_dir("stages");
  const auto file = (dir / "c.yaml").string();
  std::ofstream(file) << "train:\n  output_dir: out\n  stages:\n"
                         "    - name: step1\n      datasets: [a.jsonl]\n      trainable: {llm: false, mixer: true}\n"
                         "      steps: 5\n      warmup_steps: 2\n"
                         "    - name: step2\n      datasets: [b.jsonl]\n      stepz: 3\n";
  CHECK_THROWS_WITH(load_run_config(file), ContainsSubstring("train.stages[1].stepz: unknown key") &&
                                               ContainsSubstring("did you mean 'train.stages[1].steps'"));
  std::ofstream(file) << "train:\n  stages:\n    - name: step1\n      datasets: [a.jsonl]\n      trainable: {llm: false}\n"
                         "      steps: 5\n      warmup_steps: 2\n";
  const auto config = load_run_config(file);
  REQUIRE(config.train.stages.size() == 1);
  CHECK(config.train.stages[0].trainable.at("llm") == false);
  CHECK(config.train.stages[0].warmup_steps == 2);
  std::ofstream(file) << "train:\n  stages:\n    - name: a\n      datasets: [x]\n    - name: b\n      datasets: [y]\n"
                         "    - name: c\n      datasets: [z]\n";
  auto three = load_run_config(file);
  keep_stages(three.train, {"c", "a"});  // the config's order wins
  REQUIRE(three.train.stages.size() == 2);
  CHECK(three.train.stages[0].name == "a");
  CHECK(three.train.stages[1].name == "c");
  CHECK_THROWS_WITH(keep_stages(three.train, {"b"}), ContainsSubstring("no stage named 'b' (the config has: a, c)"));
  std::ofstream(file) << "train:\n  stages:\n    - name: a\n      datasets: [x]\n    - name: a\n      datasets: [y]\n";
  CHECK_THROWS_WITH(load_run_config(file), ContainsSubstring("duplicate stage name 'a'"));
  std::ofstream(file) << "train:\n  stages:\n    - name: a\n      datasets: [x]\n      warmup_steps: 500\n";
  CHECK_THROWS_WITH(load_run_config(file), ContainsSubstring("train.stages[0].warmup_steps"));
  // AdamW's epsilon: read, checked, and what the stage's optimizer uses.
  std::ofstream(file) << "train:\n  stages:\n    - name: a\n      datasets: [x]\n      eps: 0\n";
  CHECK_THROWS_WITH(load_run_config(file), ContainsSubstring("train.stages[0].eps: must be positive"));
  std::ofstream(file) << "train:\n  stages:\n    - name: a\n      datasets: [x]\n      eps: 1.0e-6\n";
  const auto with_eps = load_run_config(file);
  CHECK(with_eps.train.stages[0].eps == 1e-6);
  CHECK(StageConfig().eps == 1e-8);  // LibTorch's and PyTorch's default
  TrolModel model(test::tiny_config());
  const auto optimizer = make_optimizer(*model, with_eps.train.stages[0]);
  for (const auto& group : optimizer.adamw->param_groups()) {
    CHECK(static_cast<const torch::optim::AdamWOptions&>(group.options()).eps() == 1e-6);
  }
  std::ofstream(file) << "train:\n  stages:\n    - name: a\n      datasets: [x]\n"
                         "      learning_rate_scale: {vision: 5, projecter: 2}\n";
  CHECK_THROWS_WITH(load_run_config(file), ContainsSubstring("train.stages[0].learning_rate_scale.projecter") &&
                                               ContainsSubstring("known: lora, vision, projector, mixer, llm"));
  std::ofstream(file) << "runtime:\n  mixed_precision: float16\n";
  CHECK_THROWS_WITH(load_run_config(file), ContainsSubstring("runtime.mixed_precision: float16 autocast needs CUDA"));
  std::ofstream(file) << "runtime:\n  mixed_precision: bf16\n";
  CHECK_THROWS_WITH(load_run_config(file), ContainsSubstring("expected none, bfloat16 or float16, got 'bf16'"));
  std::ofstream(file) << "runtime:\n  mixed_precision: bfloat16\n  dtype: bfloat16\n";
  CHECK_THROWS_WITH(load_run_config(file), ContainsSubstring("float32 master weights"));
  std::ofstream(file) << "train:\n  save_every: -1\n";
  CHECK_THROWS_WITH(load_run_config(file), ContainsSubstring("train.save_every"));
  std::ofstream(file) << "train:\n  keep_checkpoints: 0\n";
  CHECK_THROWS_WITH(load_run_config(file), ContainsSubstring("train.keep_checkpoints: must be at least 1"));
  std::ofstream(file) << "train:\n  resume: auto\n  max_bad_steps: 4\n";
  CHECK(load_run_config(file).train.resume == "auto");
  CHECK(load_run_config(file).train.max_bad_steps == 4);
  std::ofstream(file) << "data:\n  truncation: cut\n";
  CHECK_THROWS_WITH(load_run_config(file), ContainsSubstring("data.truncation: expected drop or fail"));
  std::ofstream(file) << "data:\n  max_tiles: 6\n  tile_thumbnail: false\n";
  CHECK(load_run_config(file).data.tiling.max_tiles == 6);
  CHECK(load_run_config(file).data.tiling.dynamic());
  CHECK_FALSE(load_run_config(file).data.tiling.thumbnail);
  std::ofstream(file) << "data:\n  max_tiles: 0\n";
  CHECK_THROWS_WITH(load_run_config(file), ContainsSubstring("data.max_tiles: must be in [1, 64]"));
  std::ofstream(file) << "data:\n  max_tiles: 4\n  min_tiles: 5\n";
  CHECK_THROWS_WITH(load_run_config(file), ContainsSubstring("data.min_tiles: must be in [1, max_tiles]"));
  std::ofstream(file) << "eval:\n  decode: released\n";
  CHECK(load_run_config(file).eval.decode == DecodeMode::released);
  std::ofstream(file) << "eval:\n  decode: beam\n";
  CHECK_THROWS_WITH(load_run_config(file), ContainsSubstring("eval.decode") && ContainsSubstring("'beam'"));
  std::filesystem::remove_all(dir);
}

}  // namespace test_train
