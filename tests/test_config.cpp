// Config loading: every mistake names the file, line and key.
#include "tests/catch.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "train/run_config.h"
#include "trol/config_reader.h"

namespace test_config {

using namespace trol;

namespace {

// Writes `text` to a fresh temporary YAML file and returns its path.
std::string write_yaml(const std::string& text) {
  static int counter = 0;
  const auto path = std::filesystem::temp_directory_path() /
                    ("trol_test_config_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ".yaml");
  std::ofstream(path) << text;
  return path.string();
}

std::string error_of(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  const auto file = write_yaml(yaml);
  try {
    load_run_config(file, overrides);
  } catch (const ConfigError& e) {
    std::filesystem::remove(file);
    return e.what();
  }
  std::filesystem::remove(file);
  return "no error";
}

}  // namespace

TEST_CASE("a valid config reads every field and keeps defaults for the rest", "[config]") {
  const auto file = write_yaml(
      "model:\n  llm:\n    hidden_size: 64\n    num_heads: 8\n    num_kv_heads: 4\n    rope_theta: 1.0e6\n"
      "  trol:\n    shared_gate: true\nruntime:\n  dtype: bfloat16\n");
  const auto config = load_run_config(file, {"model.llm.num_layers=3", "runtime.seed=9"});
  std::filesystem::remove(file);
  CHECK(config.model.llm.hidden_size == 64);
  CHECK(config.model.llm.num_heads == 8);
  CHECK(config.model.llm.rope_theta == 1e6);
  CHECK(config.model.llm.num_layers == 3);
  CHECK(config.model.trol.shared_gate);
  CHECK(config.model.trol.traversal);  // default kept
  CHECK(config.runtime.dtype == "bfloat16");
  CHECK(config.runtime.seed == 9);
}

TEST_CASE("an unknown key is an error with its line and a suggestion", "[config]") {
  const auto message = error_of("model:\n  llm:\n    hidden_size: 64\n    num_head: 8\n");
  CHECK_THAT(message, ContainsSubstring(":4: model.llm.num_head: unknown key") &&
                          ContainsSubstring("did you mean 'model.llm.num_heads'"));
  CHECK_THAT(error_of("modle:\n  llm: {}\n"), ContainsSubstring("modle: unknown key (did you mean 'model'?)"));
  CHECK_THAT(error_of("model: {}\n", {"model.trol.travesal=false"}),
             ContainsSubstring("model.trol.travesal: unknown key (did you mean 'model.trol.traversal'?)"));
}

TEST_CASE("a value of the wrong type names the key and what was expected", "[config]") {
  CHECK_THAT(error_of("model:\n  llm:\n    hidden_size: big\n"),
             ContainsSubstring(":3: model.llm.hidden_size: expected an integer, got 'big'"));
  CHECK_THAT(error_of("model:\n  trol:\n    traversal: maybe\n"),
             ContainsSubstring("model.trol.traversal: expected a boolean"));
  CHECK_THAT(error_of("model:\n  llm:\n    hidden_size: [1, 2]\n"),
             ContainsSubstring("model.llm.hidden_size: expected an integer, got a list"));
  CHECK_THAT(error_of("model:\n  llm: 5\n"), ContainsSubstring("model.llm: expected a map of settings"));
}

TEST_CASE("impossible shapes are rejected naming the key and the fix", "[config]") {
  CHECK_THAT(error_of("model:\n  llm:\n    hidden_size: 100\n    num_heads: 3\n"),
             ContainsSubstring("model.llm.hidden_size: (100) must be divisible by model.llm.num_heads (3)"));
  CHECK_THAT(error_of("model:\n  llm:\n    num_heads: 4\n    num_kv_heads: 3\n"),
             ContainsSubstring("model.llm.num_kv_heads: (3) must divide model.llm.num_heads (4)"));
  CHECK_THAT(error_of("model:\n  llm:\n    num_layers: 0\n"), ContainsSubstring("model.llm.num_layers: must be positive"));
  CHECK_THAT(error_of("model:\n  llm:\n    family: llama\n"), ContainsSubstring("model.llm.family: unknown family 'llama'"));
  CHECK_THAT(error_of("model:\n  vision:\n    image_size: 30\n    patch_size: 8\n"),
             ContainsSubstring("model.vision.image_size: (30) must be a multiple of model.vision.patch_size (8)"));
  CHECK_THAT(error_of("model:\n  vision:\n    select_layer: 7\n"), ContainsSubstring("model.vision.select_layer"));
  CHECK_THAT(error_of("model:\n  llm:\n    rope_scaling: {type: yarn}\n"),
             ContainsSubstring("model.llm.rope_scaling.type: unknown RoPE scaling 'yarn'"));
  CHECK_THAT(error_of("model:\n  llm:\n    rope_scaling: {type: longrope, short_factor: [1.0], long_factor: [1.0],"
                      " original_max_position_embeddings: 64}\n"),
             ContainsSubstring("model.llm.rope_scaling.short_factor: has 1 factors, head_dim / 2 = 16 needed"));
  CHECK_THAT(error_of("model:\n  vision:\n    architecture: siglip\n"),
             ContainsSubstring("model.vision.architecture: unknown vision encoder 'siglip'"));
  CHECK_THAT(error_of("model:\n  image_token_id: 9999\n"),
             ContainsSubstring("model.image_token_id: (9999) must be below model.llm.vocab_size"));
  CHECK_THAT(error_of("model:\n  projector:\n    type: linear\n"), ContainsSubstring("model.projector.type: unknown projector"));
  CHECK_THAT(error_of("runtime:\n  device: tpu\n"), ContainsSubstring("runtime.device: unknown device 'tpu'"));
  CHECK_THAT(error_of("runtime:\n  dtype: float8\n"), ContainsSubstring("runtime.dtype: unknown dtype 'float8'"));
}

TEST_CASE("syntax errors, missing files and malformed overrides are named", "[config]") {
  CHECK_THAT(error_of("model:\n  llm: [1,\n"), ContainsSubstring("YAML syntax error"));
  CHECK_THROWS_WITH(load_run_config("/nonexistent/trol.yaml"), ContainsSubstring("/nonexistent/trol.yaml: cannot open"));
  CHECK_THAT(error_of("model: {}\n", {"model.llm.hidden_size"}), ContainsSubstring("expected key.path=value"));
  CHECK_THAT(error_of("model:\n  llm:\n    hidden_size: 64\n", {"model.llm.hidden_size.x=1"}),
             ContainsSubstring("'hidden_size' is not a section"));
}

TEST_CASE("did-you-mean only suggests plausible typos", "[config]") {
  CHECK(closest_match("hiden_size", {"hidden_size", "num_heads"}) == "hidden_size");
  CHECK(closest_match("completely_different", {"hidden_size", "num_heads"}).empty());
  CHECK(edit_distance("kitten", "sitting") == 3);
}

}  // namespace test_config
