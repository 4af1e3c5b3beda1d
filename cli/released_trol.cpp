#include "cli/released_trol.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "data/hf_added_tokens.h"
#include "trol/safetensors.h"

namespace trol::cli {
namespace {

const std::string kVisionPrefix = "vit.vision_tower.vision_model.";

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

const torch::Tensor& require(const std::map<std::string, torch::Tensor>& weights, const std::string& name,
                             const std::string& dir) {
  const auto it = weights.find(name);
  if (it == weights.end()) throw std::runtime_error(dir + ": a released TroL checkpoint should hold " + name);
  return it->second;
}

const std::string kLanguagePrefix = "language_model.";

// TroL-3.8B (the authors' arch_phi3, after InternVL): the backbone under language_model.
// (language_model.model.*, language_model.lm_head), InternViT under vision_model., the
// projector as vision_proj.{0,1,3}; no adapters. Its config.json (read by
// model_config_from_hf) describes every part, so only names and the image token remain.
void adopt_released_phi3_layout(const std::string& dir, std::map<std::string, torch::Tensor>& weights, YAML::Node& model,
                                std::vector<std::string>& notes) {
  std::map<std::string, torch::Tensor> renamed;
  for (auto& [name, tensor] : weights) {
    renamed[starts_with(name, kLanguagePrefix) ? name.substr(kLanguagePrefix.size()) : name] = tensor;
  }
  weights = std::move(renamed);
  if (const auto image = added_token_id(dir, "<IMG_CONTEXT>")) {
    model["image_token_id"] = *image;
  } else {
    notes.push_back(dir + ": no '<IMG_CONTEXT>' in tokenizer_config.json or added_tokens.json: set model.image_token_id");
  }
}

}  // namespace

bool is_released_trol_layout(const std::map<std::string, torch::Tensor>& weights) {
  for (const auto& [name, tensor] : weights) {
    if (starts_with(name, kVisionPrefix) || starts_with(name, kLanguagePrefix) ||
        name.find(".ffn.weight") != std::string::npos) {
      return true;
    }
  }
  return false;
}

void adopt_released_trol_layout(const std::string& dir, std::map<std::string, torch::Tensor>& weights, YAML::Node& model,
                                std::vector<std::string>& notes) {
  if (model["llm"]["family"].as<std::string>() == "phi3") {
    adopt_released_phi3_layout(dir, weights, model, notes);
    return;
  }
  static const std::regex base(R"(^(model\.layers\.\d+\.\w+\.\w+)\.ffn\.(weight|bias)$)");
  static const std::regex adapter(R"(^(model\.layers\.\d+\.\w+\.\w+)\.(lora_A|lora_B)\.weight$)");
  std::map<std::string, torch::Tensor> renamed;
  int64_t rank = 0;
  for (auto& [name, tensor] : weights) {
    std::smatch m;
    if (std::regex_match(name, m, base)) {
      renamed[m[1].str() + "." + m[2].str()] = tensor;
    } else if (std::regex_match(name, m, adapter)) {
      if (m[2] == "lora_A") rank = tensor.size(0);
      renamed[m[1].str() + "." + m[2].str()] = tensor;
    } else if (starts_with(name, kVisionPrefix)) {
      renamed["vision_model." + name.substr(kVisionPrefix.size())] = tensor;
    } else {
      renamed[name] = tensor;
    }
  }
  weights = std::move(renamed);

  // The vision tower's shape from its tensors (the released config.json does not describe it).
  const auto& patch = require(weights, "vision_model.embeddings.patch_embedding.weight", dir);  // [hidden, 3, p, p]
  const auto& positions = require(weights, "vision_model.embeddings.position_embedding.weight", dir);
  const int64_t hidden = patch.size(0), patch_size = patch.size(2);
  const auto grid = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(positions.size(0) - 1))));
  if (grid * grid + 1 != positions.size(0)) {
    throw std::runtime_error(dir + ": the vision tower's position table has " + std::to_string(positions.size(0)) +
                             " rows, not a square grid plus the class token");
  }
  int64_t layers = 0;
  while (weights.count("vision_model.encoder.layers." + std::to_string(layers) + ".mlp.fc1.weight") != 0) ++layers;
  YAML::Node v;
  v["enabled"] = true;
  v["frozen"] = true;
  v["image_size"] = grid * patch_size;
  v["patch_size"] = patch_size;
  v["num_channels"] = patch.size(1);
  v["hidden_size"] = hidden;
  v["num_layers"] = layers;
  // The tensors do not record the head count: CLIP's heads are 64 wide (ViT-L/14: 16 heads).
  v["num_heads"] = std::max<int64_t>(1, hidden / 64);
  v["intermediate_size"] = require(weights, "vision_model.encoder.layers.0.mlp.fc1.weight", dir).size(0);
  v["activation"] = "quick_gelu";
  v["select_layer"] = -1;  // the authors' CLIPVisionTower reads the last layer, not LLaVA's penultimate
  v["drop_class_token"] = true;
  model["vision"] = v;
  model["projector"]["type"] = "mlp2x_gelu";
  if (rank > 0) {
    YAML::Node lora;
    lora["rank"] = rank;
    lora["alpha"] = 256.0;  // the authors' LoRA(lora_r=256, lora_alpha=256): not stored in the checkpoint
    lora["dropout"] = 0.05;
    lora["partial"] = true;
    lora["targets"].push_back("model.layers.*.attention.wqkv");
    lora["targets"].push_back("model.layers.*.attention.wo");
    lora["targets"].push_back("model.layers.*.feed_forward.*");
    model["lora"] = lora;
  }
  notes.push_back(dir + ": the released TroL layout: Partial LoRA rank " + std::to_string(rank) +
                  " (alpha 256, as the authors' code sets it), CLIP tower at " + std::to_string(grid * patch_size) +
                  " px, last layer, " + std::to_string(std::max<int64_t>(1, hidden / 64)) +
                  " heads of 64 (the tensors do not say; override model.vision.num_heads if not)");
  if (const auto image = added_token_id(dir, "<image>")) {
    model["image_token_id"] = *image;
  } else {
    notes.push_back(dir + ": no '<image>' in tokenizer_config.json or added_tokens.json: set model.image_token_id");
  }
}

std::map<std::string, torch::Tensor> load_trol_gating(const std::string& file, YAML::Node& model) {
  std::map<std::string, torch::Tensor> state;
  if (file.size() > 12 && file.compare(file.size() - 12, 12, ".safetensors") == 0) {
    state = load_safetensors(file).tensors;
  } else {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw std::runtime_error(file + ": cannot be read");
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    c10::IValue value;
    try {
      value = torch::pickle_load(bytes);
    } catch (const c10::Error&) {
      value = c10::IValue();
    }
    if (!value.isGenericDict()) {
      throw std::runtime_error(
          file + ": LibTorch cannot read this pickle (torch.save of a state_dict() is an OrderedDict with metadata); "
                 "convert it once with: python -c \"import torch; torch.save(dict(torch.load('" + file +
          "')), 'trol_gating_plain.pt')\"");
    }
    for (const auto& entry : value.toGenericDict()) {
      if (!entry.key().isString() || !entry.value().isTensor()) throw std::runtime_error(file + ": not a dict of tensors");
      state[entry.key().toStringRef()] = entry.value().toTensor();
    }
  }
  static const std::regex key(R"(^(?:model\.trol_gating\.|trol_gating\.)?(\d+)\.(weight|bias)$)");
  std::map<int64_t, std::pair<torch::Tensor, torch::Tensor>> gates;
  for (const auto& [name, tensor] : state) {
    std::smatch m;
    if (!std::regex_match(name, m, key)) throw std::runtime_error(file + ": unexpected entry '" + name + "' (want <i>.weight, <i>.bias)");
    auto& gate = gates[std::stoll(m[1].str())];
    (m[2] == "weight" ? gate.first : gate.second) = tensor;
  }
  const auto layers = model["llm"]["num_layers"].as<int64_t>();
  if (static_cast<int64_t>(gates.size()) != layers || gates.begin()->first != 0 || gates.rbegin()->first != layers - 1) {
    throw std::runtime_error(file + ": gates for " + std::to_string(gates.size()) + " layers, the model has " +
                             std::to_string(layers));
  }
  bool shared = true;
  for (const auto& [index, gate] : gates) {
    if (!gate.first.defined() || !gate.second.defined()) {
      throw std::runtime_error(file + ": gate " + std::to_string(index) + " lacks its weight or bias");
    }
    shared = shared && torch::equal(gate.first, gates.at(0).first) && torch::equal(gate.second, gates.at(0).second);
  }
  model["trol"]["shared_gate"] = shared;
  std::map<std::string, torch::Tensor> out;
  for (const auto& [index, gate] : gates) {
    if (shared && index > 0) break;
    out["model.trol_gating." + std::to_string(index) + ".weight"] = gate.first;
    out["model.trol_gating." + std::to_string(index) + ".bias"] = gate.second;
  }
  return out;
}

std::optional<int64_t> added_token_id(const std::string& dir, const std::string& token) {
  const auto tokens = read_hf_added_tokens(dir);
  const auto it = tokens.find(token);
  if (it == tokens.end()) return std::nullopt;
  return it->second;
}

}  // namespace trol::cli
