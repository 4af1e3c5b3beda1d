// Checkpoints at the end of a stage: <output_dir>/checkpoints/<stage>/ holding
//   model.safetensors   every model weight, Hugging Face-style names
//   config.yaml         the run's config with overrides applied
//   trainer_state.json  stage, steps, final loss and learning rate, trol version
// Files are written atomically; trainer_state.json is written last and marks completeness.
#pragma once

#include <torch/torch.h>

#include <string>

#include <nlohmann/json.hpp>

namespace trol {

std::string save_stage_checkpoint(const std::string& folder, torch::nn::Module& model, const std::string& config_yaml,
                                  const nlohmann::json& trainer_state);

// Loads weights by name into `model`. Every model weight must be present with its shape;
// missing, unexpected or mis-shaped tensors are listed in one std::runtime_error naming the file.
void load_model_weights(const std::string& safetensors_file, torch::nn::Module& model);

}  // namespace trol
