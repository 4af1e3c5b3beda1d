// `trol import`'s whole job as a call: Hugging Face (or released TroL) folders read by
// trol/hf_import.h, their `model:` section written as a trol config file with overrides applied
// (the run config lives here in train/, hence the split), and the model built from it with the
// folders' weights and fresh TroL gates and projector. Shared by `trol import` (which saves
// it) and `trol forward` (which runs it). load_model_folder takes either kind of folder.
#pragma once

#include <string>
#include <vector>

#include "train/run_config.h"
#include "trol/model.h"

namespace trol {

struct ImportedModel {
  RunConfig config;
  TrolModel model{nullptr};
  std::vector<std::string> notes;  // settings read as equivalent, fresh parts, skipped tensors
};

// Writes the model's config to `config_file` (a `model:` section, with `overrides` applied)
// and builds the model from it, seeded with runtime.seed for its fresh parts. `llm_dir` may
// also be a released TroL folder (trol/released_layout.h); its gates come from `gating_file`,
// or from a trol_gating.pt / trol_gating.safetensors in it. Throws std::runtime_error naming
// the folder and tensors when the weights do not fit (missing, unexpected with the closest
// expected name, wrong shape), and ConfigError for model.quantize (imports keep full precision).
ImportedModel import_hf_model(const std::string& llm_dir, const std::string& vision_dir,
                              const std::vector<std::string>& overrides, const std::string& config_file,
                              const std::string& gating_file = "");

// `trol import`: the folders as a trol checkpoint folder `out` (config.yaml + model.safetensors)
// that train.init_from, trol eval, trol generate and trol forward take; logs the notes.
struct HfImport {
  std::string llm;                     // Hugging Face LLM folder, or a released TroL folder
  std::string vision;                  // Hugging Face CLIP / InternViT folder, or ""
  std::string gating;                  // a released model's trol_gating.pt / .safetensors, or "" (found in llm)
  std::string out;                     // checkpoint folder to write; not one of the sources
  std::vector<std::string> overrides;  // key.path=value settings of the imported config
};
void import_to_checkpoint(const HfImport& request);

struct LoadedModel {
  RunConfig config;
  TrolModel model{nullptr};
};

// A trol checkpoint folder (config.yaml + model.safetensors), or a Hugging Face backbone folder
// (trol/hf_import.h's is_hf_model_dir) imported on the fly with fresh gates, its notes logged;
// `overrides` are key.path=value settings of the config.
LoadedModel load_model_folder(const std::string& dir, const std::vector<std::string>& overrides);

}  // namespace trol
