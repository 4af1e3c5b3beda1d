// A Hugging Face backbone LLM (Phi-3, InternLM2), and optionally a CLIP or InternViT vision
// tower, or a released TroL model (trol/released_layout.h), read as a trol model: the `model:`
// config section from their config.json files, the weights under trol's names, and the TroL
// gates and projector left fresh where the folders have none (the parts the paper's step 1
// trains). The format logic only: train/model_import.h turns it into a run config and a
// model, for `trol import` (which saves it) and `trol forward` (which runs it).
#pragma once

#include <torch/torch.h>
#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "trol/model.h"

namespace trol {

// What the folders hold, in trol's terms.
struct HfModelFolders {
  YAML::Node model;                               // the `model:` section of a trol config
  std::map<std::string, torch::Tensor> weights;   // under trol's parameter and buffer names
  std::vector<std::string> notes;                 // settings read as equivalent, layout facts
  size_t skipped = 0;                             // checkpoint tensors trol has no place for
};

// Reads `llm_dir` (an HF LLM folder, or a released TroL folder) and `vision_dir` (may be
// empty). A released TroL-1.8B/7B folder's gates come from `gating_file`, or from a
// trol_gating.pt / trol_gating.safetensors in `llm_dir`. Throws std::runtime_error naming the
// folder or file for what it cannot read.
HfModelFolders read_hf_model_folders(const std::string& llm_dir, const std::string& vision_dir,
                                     const std::string& gating_file = "");

// Copies `weights` into `model`'s parameters and buffers. A tensor missing for a TroL gate,
// the projector or a LoRA adapter leaves that part as built (fresh); anything else missing,
// a shape that differs, or a tensor with no place in the model is an error: throws
// std::runtime_error listing them all, prefixed by `source` (the folders' names), with the
// closest expected name for each unexpected tensor. Returns the number of fresh parameters.
int64_t load_hf_weights_into(TrolModel& model, std::map<std::string, torch::Tensor> weights, const std::string& source);

// True when `dir` looks like a Hugging Face model folder (a config.json, no trol config.yaml).
bool is_hf_model_dir(const std::string& dir);

}  // namespace trol
