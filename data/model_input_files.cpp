#include "data/model_input_files.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "data/image_ops.h"
#include "trol/safetensors.h"

namespace trol {

std::vector<std::vector<int64_t>> read_token_rows(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot be read");
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(path + ": not valid JSON: " + e.what());
  }
  if (json.is_array() && !json.empty() && json[0].is_number_integer()) json = nlohmann::json::array({json});
  if (!json.is_array() || json.empty()) throw std::runtime_error(path + ": expected [[token ids], ...] or [token ids]");
  std::vector<std::vector<int64_t>> rows;
  for (size_t row = 0; row < json.size(); ++row) {
    if (!json[row].is_array() || json[row].empty()) {
      throw std::runtime_error(path + ": row " + std::to_string(row) + " is not a non-empty list of token ids");
    }
    rows.emplace_back();
    for (size_t i = 0; i < json[row].size(); ++i) {
      const auto& id = json[row][i];
      if (!id.is_number_integer()) {
        throw std::runtime_error(path + ": row " + std::to_string(row) + ", position " + std::to_string(i) +
                                 " is not an integer token id");
      }
      rows.back().push_back(id.get<int64_t>());
    }
  }
  return rows;
}

std::pair<torch::Tensor, torch::Tensor> read_input_ids(const std::string& path) {
  const auto rows = read_token_rows(path);
  size_t longest = 0;
  for (const auto& row : rows) longest = std::max(longest, row.size());
  auto ids = torch::zeros({static_cast<int64_t>(rows.size()), static_cast<int64_t>(longest)}, torch::kLong);
  auto mask = torch::zeros_like(ids);
  for (size_t row = 0; row < rows.size(); ++row) {
    const auto length = static_cast<int64_t>(rows[row].size());
    ids[static_cast<int64_t>(row)].narrow(0, 0, length).copy_(torch::tensor(rows[row], torch::kLong));
    mask[static_cast<int64_t>(row)].narrow(0, 0, length).fill_(1);
  }
  return {ids, mask};
}

void check_token_ids(const std::vector<std::vector<int64_t>>& rows, int64_t vocab, const std::string& path) {
  for (const auto& row : rows) {
    for (const auto id : row) {
      if (id < 0 || id >= vocab) {
        throw std::runtime_error(path + ": token id " + std::to_string(id) + " outside [0, " + std::to_string(vocab) +
                                 ")");
      }
    }
  }
}

ImageInputs read_images(const ImageFiles& args, const ModelConfig& model_config, const DataConfig& data, TrolModel& model) {
  ImageInputs out;
  const bool any = !args.pixel_values.empty() || !args.images.empty() || !args.image_features.empty();
  if (any && !model->vision_model) {
    throw std::invalid_argument("images given, but this model has no vision encoder (model.vision.enabled is false)");
  }
  if (!args.pixel_values.empty()) {
    auto file = load_safetensors(args.pixel_values);
    const auto found = file.tensors.find("pixel_values");
    if (found == file.tensors.end()) throw std::runtime_error(args.pixel_values + ": has no tensor named pixel_values");
    out.pixel_values = found->second.to(torch::kFloat32);
  } else if (!args.images.empty()) {
    std::vector<torch::Tensor> pixels;
    for (const auto& image : args.images) {
      pixels.push_back(image_to_tiles(load_rgb(image), model_config.vision.image_size, data));
    }
    out.pixel_values = torch::cat(pixels);
  } else if (!args.image_features.empty()) {
    auto file = load_safetensors(args.image_features);
    if (file.tensors.size() != 1) {
      std::string names;
      for (const auto& entry : file.tensors) names += (names.empty() ? "" : ", ") + entry.first;
      throw std::runtime_error(args.image_features + ": must hold exactly one tensor (the vision tower's output), holds " +
                               std::to_string(file.tensors.size()) + (names.empty() ? "" : ": " + names));
    }
    const auto& [name, tensor] = *file.tensors.begin();
    const auto& tower = model->vision_model;
    const int64_t tokens = tower->tower_output_tokens(), width = model_config.vision.hidden_size;
    if (tensor.dim() != 3 || tensor.size(1) != tokens || tensor.size(2) != width) {
      const auto& v = model_config.vision;
      const std::string what = std::string(v.architecture == "internvit" ? "InternViT's" : "CLIP's") +
                               " hidden_states[" + std::to_string(v.select_layer) + "]" +
                               (v.select_layer == -1 ? " (last_hidden_state)" : "") +
                               (tower->tower_output_has_class_token() ? " with" : " without") + " the class token";
      throw std::runtime_error(args.image_features + ": tensor '" + name + "' is " + c10::str(tensor.sizes()) +
                               "; this model expects " + what + ", [images, " + std::to_string(tokens) + ", " +
                               std::to_string(width) + "] (" + std::to_string(v.grid_size()) + "x" +
                               std::to_string(v.grid_size()) + " patches at " + std::to_string(v.image_size) + " px)");
    }
    out.tower_output = tensor.to(torch::kFloat32);
  }
  return out;
}

}  // namespace trol
