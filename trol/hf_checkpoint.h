// The weights of a Hugging Face model folder: model.safetensors, or the shards that
// model.safetensors.index.json names in its weight_map (how checkpoints over a few GB ship).
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>

namespace trol {

// Every tensor of the folder, as stored (dtype included). Throws std::runtime_error naming the
// file for a missing weights file or shard, a malformed index, or a tensor the index promises
// and its shard lacks.
std::map<std::string, torch::Tensor> load_hf_weights(const std::string& dir);

}  // namespace trol
