// Parameter counts from a configuration (trol/parameter_count.h) against the modules trol
// builds, and the released sizes' recipes (configs/trol-*/) against the published figures.
#include "tests/catch.h"

#include <map>
#include <string>
#include <vector>

#include "test_helpers.h"
#include "train/run_config.h"
#include "trol/model.h"
#include "trol/param_groups.h"
#include "trol/parameter_count.h"

namespace test_parameter_count {

using namespace trol;

namespace {

// The count of each group of a built model, from its tensors.
std::map<std::string, int64_t> built_count(const ModelConfig& config) {
  torch::NoGradGuard no_grad;
  TrolModel model(config);
  std::map<std::string, int64_t> groups;
  for (const auto& [group, counts] : ParameterGroups().count(*model)) groups[group] = counts.first;
  return groups;
}

void check_counts_match(const ModelConfig& config) { CHECK(count_parameters(config).by_group() == built_count(config)); }

std::string recipe(const std::string& size, int stage) {
  return std::string(TROL_SOURCE_DIR) + "/configs/trol-" + size + "/stage" + std::to_string(stage) + ".yaml";
}

}  // namespace

TEST_CASE("parameter counts from the config equal the built model's", "[parameter_count]") {
  SECTION("phi3 with CLIP") { check_counts_match(test::tiny_config("phi3")); }
  SECTION("internlm2 with attention biases, tied embeddings and a shared gate") {
    auto config = test::tiny_config("internlm2");
    config.llm.attention_bias = true;
    config.llm.tie_word_embeddings = true;
    config.trol.shared_gate = true;
    check_counts_match(config);
  }
  SECTION("InternViT with pixel shuffle, LayerNorm projector, interpolated positions") {
    auto config = test::tiny_config("phi3");
    config.vision.architecture = "internvit";
    config.vision.downsample_ratio = 0.5;
    config.vision.pretrained_image_size = 16;
    config.projector.type = "ln_mlp2x_gelu";
    check_counts_match(config);
  }
  SECTION("LoRA on some projections") {
    auto config = test::tiny_config("internlm2");
    config.lora.rank = 4;
    config.lora.targets = {"model.layers.*.attention.wqkv", "model.layers.1.feed_forward.w2"};
    check_counts_match(config);
  }
  SECTION("text only") {
    auto config = test::tiny_config("phi3");
    config.vision.enabled = false;
    check_counts_match(config);
  }
}

TEST_CASE("the released sizes' recipes have the published parameter counts", "[parameter_count]") {
  struct Size {
    std::string name;
    int64_t mixer, llm, vision, lora;
  };
  // Mixers: num_layers x (hidden + 1), as the paper reports (49K-131K). Backbones as published:
  // InternLM2-1.8B 1.89B, Phi-3-mini 3.82B, InternLM2-7B 7.74B; CLIP ViT-L/14-336's vision tower
  // 303.5M without its final LayerNorm (unused), InternViT-300M 304M.
  const std::vector<Size> sizes{
      {"1.8b", 24 * 2049, 1889110016, 303505408, 0},
      {"3.8b", 32 * 3073, 3821079552, 304012288, 0},
      {"7b", 32 * 4097, 7737708544, 303505408, 0},
  };
  for (const auto& size : sizes) {
    for (int stage : {1, 2}) {
      INFO("configs/trol-" << size.name << "/stage" << stage << ".yaml");
      const auto config = load_run_config(recipe(size.name, stage));
      const auto count = count_parameters(config.model);
      CHECK(count.mixer == size.mixer);
      CHECK(count.llm == size.llm);
      CHECK(count.vision == size.vision);
      CHECK((count.lora > 0) == (stage == 2));  // step 2 trains the backbone through adapters
      CHECK((config.model.quantize != "none") == (stage == 2));
    }
  }
  // TroL-3.8B's projector takes the pixel-shuffled 4096-wide InternViT tokens.
  const auto config = load_run_config(recipe("3.8b", 1));
  CHECK(config.model.vision.tokens_per_image() == 256);
  CHECK(count_parameters(config.model).projector == 2 * 4096 + 4096 * 3072 + 3072 + 3072 * 3072 + 3072);
}

TEST_CASE("the recipes build at reduced width with the counts their configs give", "[parameter_count]") {
  // Every layer and every structural choice of the recipe, at a width a test can build.
  for (const std::string size : {"1.8b", "3.8b", "7b"}) {
    for (int stage : {1, 2}) {
      INFO("configs/trol-" << size << "/stage" << stage << ".yaml at reduced width");
      const auto full = load_run_config(recipe(size, stage)).model;
      const bool gqa = full.llm.num_kv_heads < full.llm.num_heads;
      const bool clip = full.vision.architecture == "clip";
      std::vector<std::string> narrow{"model.llm.vocab_size=128", "model.llm.hidden_size=32", "model.llm.num_heads=4",
                                      std::string("model.llm.num_kv_heads=") + (gqa ? "2" : "4"),
                                      "model.llm.intermediate_size=48", "model.vision.hidden_size=16",
                                      "model.vision.num_heads=2", "model.vision.intermediate_size=32",
                                      "model.quantize=none", "model.lora.rank=" + std::to_string(stage == 2 ? 4 : 0)};
      if (clip) {
        narrow.insert(narrow.end(), {"model.vision.image_size=70", "model.vision.pretrained_image_size=42"});
      } else {
        narrow.push_back("model.vision.image_size=56");
      }
      const auto reduced = load_run_config(recipe(size, stage), narrow).model;
      CHECK(reduced.llm.num_layers == full.llm.num_layers);
      CHECK(reduced.vision.num_layers == full.vision.num_layers);
      check_counts_match(reduced);
      CHECK(count_parameters(reduced).mixer == reduced.llm.num_layers * 33);
    }
  }
}

}  // namespace test_parameter_count
