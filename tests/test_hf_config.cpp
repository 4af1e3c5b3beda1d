// Hugging Face config.json readers (trol/hf_config.h) on the layouts different transformers
// versions write.
#include "tests/catch.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "test_helpers.h"
#include "trol/hf_config.h"

namespace test_hf_config {

using Json = nlohmann::json;

struct ConfigFolder {
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("trol_test_hf_config_" + std::to_string(::getpid()));
  ConfigFolder() { std::filesystem::create_directories(dir); }
  ~ConfigFolder() { std::filesystem::remove_all(dir); }
  trol::HfModelConfig read(const Json& config) const {
    std::ofstream(dir / "config.json") << config.dump();
    return trol::model_config_from_hf(dir.string());
  }
};

// A Phi-3 config.json as transformers 5 saves it: no top-level rope_theta or rope_scaling, both
// inside rope_parameters (what Phi3Config(...).to_dict() gives in transformers 5.25).
Json transformers5_phi3(const Json& rope_parameters) {
  auto json = trol::hf_llm_config_json(trol::test::tiny_config("phi3").llm, "float32");
  json.erase("rope_theta");
  json.erase("rope_scaling");
  json["rope_parameters"] = rope_parameters;
  return json;
}

TEST_CASE("transformers 5's rope_parameters give RoPE's base and scaling", "[config]") {
  const ConfigFolder folder;
  const auto plain = folder.read(transformers5_phi3(
      {{"rope_theta", 500.0}, {"partial_rotary_factor", 1.0}, {"rope_type", "default"}}));
  CHECK(plain.model["llm"]["rope_theta"].as<double>() == 500.0);
  CHECK_FALSE(plain.model["llm"]["rope_scaling"]);

  auto longrope = transformers5_phi3({{"type", "longrope"},
                                      {"short_factor", {1.0, 1.5}},
                                      {"long_factor", {2.0, 4.0}},
                                      {"rope_theta", 10000.0},
                                      {"partial_rotary_factor", 1.0},
                                      {"rope_type", "longrope"},
                                      {"original_max_position_embeddings", 8}});
  longrope["original_max_position_embeddings"] = 8;
  const auto scaled = folder.read(longrope).model["llm"]["rope_scaling"];
  CHECK(scaled["type"].as<std::string>() == "longrope");
  CHECK(scaled["long_factor"].as<std::vector<double>>() == std::vector<double>{2.0, 4.0});
  CHECK(scaled["original_max_position_embeddings"].as<int64_t>() == 8);
  longrope.erase("original_max_position_embeddings");  // then rope_parameters' own
  CHECK(folder.read(longrope).model["llm"]["rope_scaling"]["original_max_position_embeddings"].as<int64_t>() == 8);

  CHECK_THROWS_WITH(folder.read(transformers5_phi3({{"rope_theta", 1e4}, {"partial_rotary_factor", 0.5}})),
                    ContainsSubstring("config.json: partial_rotary_factor 0.5"));
  CHECK_THROWS_WITH(folder.read(transformers5_phi3({{"rope_theta", 1e4}, {"rope_type", "yarn"}})),
                    ContainsSubstring("rope_scaling type 'yarn'"));
}

}  // namespace test_hf_config
