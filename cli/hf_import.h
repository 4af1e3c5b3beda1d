// A Hugging Face backbone LLM (Phi-3, InternLM2), and optionally a CLIP vision tower, as a
// trol model: the config from their config.json files, the weights from their safetensors
// under the same names, and fresh TroL gates and projector (the parts the paper's step 1
// trains). Shared by `trol import` (which saves it) and `trol forward` (which runs it).
#pragma once

#include <string>
#include <vector>

#include "train/run_config.h"
#include "trol/model.h"

namespace trol::cli {

struct ImportedModel {
  RunConfig config;
  TrolModel model{nullptr};
  std::vector<std::string> notes;  // settings read as equivalent, fresh parts, skipped tensors
};

// Writes the model's config to `config_file` (a `model:` section, with `overrides` applied)
// and builds the model from it. `llm_dir` may also be a released TroL-1.8B/7B folder
// (cli/released_trol.h); its gates come from `gating_file`, or from a trol_gating.pt /
// trol_gating.safetensors in it. Throws std::runtime_error naming the folder and tensors when
// the weights do not fit (missing, unexpected with the closest expected name, wrong shape).
ImportedModel import_hf_model(const std::string& llm_dir, const std::string& vision_dir,
                              const std::vector<std::string>& overrides, const std::string& config_file,
                              const std::string& gating_file = "");

// True when `dir` looks like a Hugging Face model folder (a config.json, no trol config.yaml).
bool is_hf_model_dir(const std::string& dir);

}  // namespace trol::cli
