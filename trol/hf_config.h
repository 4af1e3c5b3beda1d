// Hugging Face config.json readers: a backbone LLM's (Phi-3: model_type "phi3"; InternLM2:
// "internlm2") and a CLIP vision tower's ("clip" with a vision_config, or "clip_vision_model"),
// turned into the `model:` section of a trol config. The result is YAML on purpose: trol's
// own config reader then validates it like any user-written config, and `trol import` saves it.
#pragma once

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "trol/model_config.h"

namespace trol {

struct HfModelConfig {
  YAML::Node model;                // the `model:` section
  std::vector<std::string> notes;  // what the user should know (settings read as equivalent)
};

// The model for the LLM in `llm_dir` (its config.json) and, when `vision_dir` is not empty,
// the CLIP vision tower in it (LLaVA's choices: penultimate layer, class token dropped, an
// mlp2x_gelu projector); without one the model is text-only. Throws std::runtime_error naming
// the file and key for what is missing or not implemented (e.g. a rope_scaling type).
// A folder written by hf_config_json (below) carries its vision tower and TroL settings in
// its config.json and needs no `vision_dir`.
HfModelConfig model_config_from_hf(const std::string& llm_dir, const std::string& vision_dir = "");

// The config.json of `config` as Hugging Face's Phi3Config / InternLM2Config, plus, LLaVA-style,
// `vision_config` (CLIP's keys), `vision_feature_layer`, `image_token_index`, `projector_type`
// and a `trol` block (traversal, shared_gate): what `trol export --format hf` writes and
// model_config_from_hf reads back to the same model.
nlohmann::json hf_config_json(const ModelConfig& config, const std::string& torch_dtype);

// Its parts: the backbone's own config.json (Phi3Config / InternLM2Config keys), and the vision
// tower's (CLIPVisionConfig keys, or InternViT's InternVisionConfig) with trol's
// pretrained_image_size, drop_class_token and downsample_ratio, which model_config_from_hf reads.
nlohmann::json hf_llm_config_json(const LlmConfig& llm, const std::string& torch_dtype);
nlohmann::json hf_vision_config_json(const VisionConfig& vision);

}  // namespace trol
