// Hugging Face config.json readers: a backbone LLM's (Phi-3: model_type "phi3"; InternLM2:
// "internlm2") and a CLIP vision tower's ("clip" with a vision_config, or "clip_vision_model"),
// turned into the `model:` section of a trol config. The result is YAML on purpose: trol's
// own config reader then validates it like any user-written config, and `trol import` saves it.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

namespace trol {

struct HfModelConfig {
  YAML::Node model;                // the `model:` section
  std::vector<std::string> notes;  // what the user should know (settings read as equivalent)
};

// The model for the LLM in `llm_dir` (its config.json) and, when `vision_dir` is not empty,
// the CLIP vision tower in it (LLaVA's choices: penultimate layer, class token dropped, an
// mlp2x_gelu projector); without one the model is text-only. Throws std::runtime_error naming
// the file and key for what is missing or not implemented (e.g. a rope_scaling type).
HfModelConfig model_config_from_hf(const std::string& llm_dir, const std::string& vision_dir = "");

}  // namespace trol
