#include "trol/hf_checkpoint.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "trol/safetensors.h"

namespace trol {

std::map<std::string, torch::Tensor> load_hf_weights(const std::string& dir) {
  namespace fs = std::filesystem;
  const auto single = fs::path(dir) / "model.safetensors", index_path = fs::path(dir) / "model.safetensors.index.json";
  if (fs::exists(single)) return load_safetensors(single.string()).tensors;
  if (!fs::exists(index_path)) {
    const bool pickled = fs::exists(fs::path(dir) / "pytorch_model.bin") || fs::exists(fs::path(dir) / "pytorch_model.bin.index.json");
    throw std::runtime_error(dir + ": no model.safetensors or model.safetensors.index.json" +
                             std::string(pickled ? " (only pickled pytorch_model.bin weights, which trol does not "
                                                   "unpickle: convert them to safetensors first)"
                                                 : ""));
  }
  nlohmann::json index;
  try {
    std::ifstream in(index_path);
    index = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(index_path.string() + ": not valid JSON: " + e.what());
  }
  if (!index.contains("weight_map") || !index["weight_map"].is_object()) {
    throw std::runtime_error(index_path.string() + ": no weight_map object");
  }
  std::map<std::string, std::set<std::string>> names_by_shard;
  for (const auto& [name, shard] : index["weight_map"].items()) {
    if (!shard.is_string()) throw std::runtime_error(index_path.string() + ": weight_map['" + name + "'] is not a file name");
    names_by_shard[shard.get<std::string>()].insert(name);
  }
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& [shard, names] : names_by_shard) {
    const auto path = fs::path(dir) / shard;
    if (!fs::exists(path)) {
      throw std::runtime_error(index_path.string() + " names shard " + shard + ", which is missing (" +
                               std::to_string(names.size()) + " tensors, e.g. " + *names.begin() + ")");
    }
    auto file = load_safetensors(path.string());
    for (const auto& name : names) {
      auto found = file.tensors.find(name);
      if (found == file.tensors.end()) {
        throw std::runtime_error(path.string() + ": has no tensor '" + name + "', which " + index_path.filename().string() +
                                 " places there");
      }
      tensors.emplace(name, std::move(found->second));
    }
  }
  return tensors;
}

}  // namespace trol
