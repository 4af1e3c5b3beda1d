#include "trol/released_layout.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <type_traits>

#include "trol/hf_added_tokens.h"
#include "trol/hf_config.h"
#include "trol/safetensors.h"
#include "trol/string_affixes.h"
#include "trol/torch_save.h"

namespace trol {
namespace {

// The authors' CLIPVisionTower holds the Hugging Face CLIPVisionModel (vision_model.*) as vision_tower.
const std::string kVisionTowerPrefix = "vit.vision_tower.";
const std::string kVisionPrefix = kVisionTowerPrefix + "vision_model.";


// `holder` says whose tensors these are in the message ("DIR: a released TroL checkpoint").
const torch::Tensor& require_tensor(const std::map<std::string, torch::Tensor>& weights, const std::string& name,
                             const std::string& holder) {
  const auto it = weights.find(name);
  if (it == weights.end()) throw std::runtime_error(holder + " should hold " + name);
  return it->second;
}

// The released InternLM2 layout does not record the CLIP tower's head count; trol import takes
// CLIP's 64-wide heads (ViT-L/14: 1024 / 64 = 16).
int64_t assumed_clip_heads(int64_t hidden) { return std::max<int64_t>(1, hidden / 64); }

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
  const auto holder = dir + ": a released TroL checkpoint";
  const auto& patch = require_tensor(weights, "vision_model.embeddings.patch_embedding.weight", holder);  // [hidden, 3, p, p]
  const auto& positions = require_tensor(weights, "vision_model.embeddings.position_embedding.weight", holder);
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
  v["num_heads"] = assumed_clip_heads(hidden);
  v["intermediate_size"] = require_tensor(weights, "vision_model.encoder.layers.0.mlp.fc1.weight", holder).size(0);
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
                  " px, last layer, " + std::to_string(assumed_clip_heads(hidden)) +
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
    state = load_torch_state_dict(file);  // the released trol_gating.pt: torch.save(model.trol_gating.state_dict())
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

namespace {

// What a released layout cannot hold: names the setting, says why, and where to go instead.
[[noreturn]] void cannot_hold(const std::string& source, const std::string& setting, const std::string& why,
                              const std::string& instead = "use --format hf") {
  throw std::runtime_error(source + ": " + setting + ": " + why + "; " + instead);
}

template <typename T>
std::string setting_text(const T& value) {
  if constexpr (std::is_same_v<T, bool>) return value ? "true" : "false";
  return c10::str(value);
}

// A setting that the released layout does not record, fixed to what trol import assumes.
template <typename T>
void expect_implied(const std::string& source, const std::string& key, const T& actual, const T& implied,
                    const std::string& layout, const std::string& instead = "use --format hf") {
  if (actual == implied) return;
  cannot_hold(source, key + " is " + setting_text(actual),
              "the " + layout + " layout does not record it, and trol import (like the authors' code) takes " +
                  setting_text(implied),
              instead);
}

std::string torch_dtype_name(torch::ScalarType type) {
  switch (type) {
    case torch::kFloat32: return "float32";
    case torch::kBFloat16: return "bfloat16";
    case torch::kFloat16: return "float16";
    default: return c10::toString(type);
  }
}

const std::string kTrol38b = "released TroL-3.8B (phi3)", kTrol18b = "released TroL-1.8B/7B (internlm2)";

// The gates, once per layer under the ModuleList's keys ({i}.weight, {i}.bias), taken out of `weights`.
NamedTensors released_gates(const ModelConfig& config, std::map<std::string, torch::Tensor>& weights,
                            const std::string& holder) {
  NamedTensors gating;
  for (int64_t layer = 0; layer < config.llm.num_layers; ++layer) {
    const auto stored = "model.trol_gating." + std::to_string(config.trol.shared_gate ? 0 : layer) + ".";
    for (const std::string part : {"weight", "bias"}) {
      gating.emplace_back(std::to_string(layer) + "." + part, require_tensor(weights, stored + part, holder));
    }
  }
  for (auto it = weights.begin(); it != weights.end();) {
    it = starts_with(it->first, "model.trol_gating.") ? weights.erase(it) : std::next(it);
  }
  return gating;
}

// TroL-3.8B: the backbone under language_model., everything in config.json (TroLConfig).
void to_released_phi3(const ModelConfig& config, std::map<std::string, torch::Tensor>& weights,
                      const std::string& torch_dtype, const std::string& source, ReleasedTrolFolder& out) {
  const auto& v = config.vision;
  if (v.architecture != "internvit") {
    cannot_hold(source, "model.vision.architecture is " + v.architecture,
                "the " + kTrol38b + " layout holds an InternViT tower");
  }
  expect_implied(source, "model.projector.type", config.projector.type, std::string("ln_mlp2x_gelu"), kTrol38b);
  if (config.llm.extra_embedding_rows != 0) {
    cannot_hold(source, "model.llm.extra_embedding_rows is " + std::to_string(config.llm.extra_embedding_rows),
                "the authors' Phi-3 code builds the embedding and the head with vocab_size rows");
  }
  if (config.lora.rank > 0) {
    cannot_hold(source, "model.lora.rank is " + std::to_string(config.lora.rank),
                "the " + kTrol38b + " layout has no adapters", "--format hf --merge-lora folds plain LoRA into the weights");
  }
  for (auto& [name, tensor] : weights) {
    const bool backbone = starts_with(name, "model.") || starts_with(name, "lm_head.");
    if (!backbone && !starts_with(name, "vision_model.") && !starts_with(name, "vision_proj.")) {
      throw std::runtime_error(source + ": " + name + " has no place in the " + kTrol38b + " layout");
    }
    out.weights.emplace_back(backbone ? kLanguagePrefix + name : name, tensor);
  }

  auto llm = hf_llm_config_json(config.llm, torch_dtype);
  // The authors' Phi3Config accepts only the first Phi-3 128k configs' name for longrope.
  if (llm["rope_scaling"].is_object()) llm["rope_scaling"]["type"] = "su";
  auto vision = hf_vision_config_json(v);
  // InternVL's convention: vision_config.image_size is the resolution of the stored position
  // table, force_image_size the one the model runs at.
  vision["image_size"] = v.pretrained_image_size > 0 ? v.pretrained_image_size : v.image_size;
  vision.erase("pretrained_image_size");
  out.config = {{"architectures", {"TroLForCausalLM"}},
                {"model_type", "trol"},
                {"llm_config", llm},
                {"vision_config", vision},
                {"force_image_size", v.image_size},
                {"select_layer", v.select_layer},
                {"downsample_ratio", v.downsample_ratio},
                {"ps_version", "v2"},  // what trol's (and the authors') pixel shuffle does
                {"torch_dtype", torch_dtype}};
  out.notes.push_back("the image token is id " + std::to_string(config.resolved_image_token_id()) +
                      ": trol import takes the id of '<IMG_CONTEXT>' in the tokenizer files");
}

// TroL-1.8B/7B: Partial LoRA on every decoder linear as <linear>.ffn.* + lora_A/lora_B, the CLIP
// tower under vit.vision_tower. Its config.json is InternLM2's; the tower's shape is read from
// its tensors on import, so the settings the tensors do not show must be the ones assumed.
void to_released_internlm2(const ModelConfig& config, std::map<std::string, torch::Tensor>& weights,
                           const std::string& torch_dtype, const std::string& source, ReleasedTrolFolder& out) {
  const auto& v = config.vision;
  const auto& lora = config.lora;
  if (v.architecture != "clip") {
    cannot_hold(source, "model.vision.architecture is " + v.architecture, "the " + kTrol18b + " layout holds a CLIP tower");
  }
  expect_implied(source, "model.projector.type", config.projector.type, std::string("mlp2x_gelu"), kTrol18b);
  expect_implied(source, "model.vision.select_layer", v.select_layer, int64_t{-1}, kTrol18b);
  expect_implied(source, "model.vision.drop_class_token", v.drop_class_token, true, kTrol18b);
  expect_implied(source, "model.vision.activation", v.activation, std::string("quick_gelu"), kTrol18b);
  expect_implied(source, "model.vision.layer_norm_eps", v.layer_norm_eps, VisionConfig{}.layer_norm_eps, kTrol18b);
  expect_implied(source, "model.vision.downsample_ratio", v.downsample_ratio, 1.0, kTrol18b);
  // The released tower's position table is stored at the resolution the model runs at (490 px).
  const auto table_size = v.pretrained_image_size > 0 ? v.pretrained_image_size : v.image_size;
  expect_implied(source, "model.vision.pretrained_image_size", table_size, v.image_size, kTrol18b);
  // Partial LoRA cannot be folded into a weight, so --format hf is no way out for these.
  const std::string keep = "the trol checkpoint folder itself keeps the model";
  if (lora.rank == 0) {
    cannot_hold(source, "model.lora.rank is 0",
                "the " + kTrol18b + " layout has a Partial LoRA adapter on every decoder linear");
  }
  if (!lora.partial) {
    cannot_hold(source, "model.lora.partial is false (plain LoRA)",
                "the " + kTrol18b + " layout holds Partial LoRA adapters",
                "--format hf --merge-lora folds plain LoRA into the weights");
  }
  expect_implied(source, "model.lora.alpha", lora.alpha, 256.0, kTrol18b, keep);
  if (config.llm.extra_embedding_rows != 1) {
    cannot_hold(source, "model.llm.extra_embedding_rows is " + std::to_string(config.llm.extra_embedding_rows),
                "the authors' InternLM2 code builds the embedding with vocab_size + 1 rows (the image token's last) "
                "and the head with vocab_size");
  }

  static const std::regex linear(R"(^(model\.layers\.\d+\.\w+\.\w+)\.(weight|bias|lora_A|lora_B)$)");
  for (const auto& [name, tensor] : weights) {
    std::smatch m;
    if (std::regex_match(name, m, linear) && m[2] == "weight") {
      for (const auto* part : {".lora_A", ".lora_B"}) {
        if (weights.count(m[1].str() + part) == 0) {
          cannot_hold(source, m[1].str() + " has no " + std::string(part + 1) + " (model.lora.targets)",
                      "the " + kTrol18b + " layout has a Partial LoRA adapter on every decoder linear", keep);
        }
      }
    }
  }
  for (auto& [name, tensor] : weights) {
    std::smatch m;
    if (std::regex_match(name, m, linear)) {
      const bool adapter = m[2] == "lora_A" || m[2] == "lora_B";
      out.weights.emplace_back(m[1].str() + (adapter ? "." + m[2].str() + ".weight" : ".ffn." + m[2].str()), tensor);
    } else if (starts_with(name, "vision_model.")) {
      out.weights.emplace_back(kVisionTowerPrefix + name, tensor);
    } else {
      out.weights.emplace_back(name, tensor);
    }
  }

  out.config = hf_llm_config_json(config.llm, torch_dtype);
  out.config["architectures"] = {"TroLForCausalLM"};
  if (v.num_heads != assumed_clip_heads(v.hidden_size)) {
    out.notes.push_back("the layout does not record model.vision.num_heads (" + std::to_string(v.num_heads) +
                        "; trol import assumes " + std::to_string(assumed_clip_heads(v.hidden_size)) +
                        "): import it with model.vision.num_heads=" + std::to_string(v.num_heads));
  }
  if (lora.rank != 256) {
    out.warnings.push_back("Partial LoRA rank " + std::to_string(lora.rank) +
                           ": trol import reads any rank, the authors' code builds rank 256 and will not load it");
  }
  out.notes.push_back("the image token is id " + std::to_string(config.resolved_image_token_id()) +
                      ": trol import takes the id of '<image>' in the tokenizer files");
}

}  // namespace

ReleasedTrolFolder released_trol_folder(const ModelConfig& config, std::map<std::string, torch::Tensor> weights,
                                        std::optional<torch::ScalarType> dtype, const std::string& source) {
  const bool phi3 = config.llm.layout() == LlmFamily::Phi3;
  if (config.quantize != "none") {
    cannot_hold(source, "model.quantize is " + config.quantize, "the released layouts hold full-precision weights",
                "--format hf writes them dequantized");
  }
  if (!config.trol.traversal) {
    cannot_hold(source, "model.trol.traversal is false", "the released TroL code always traverses the layers");
  }
  if (!config.vision.enabled) {
    cannot_hold(source, "model.vision.enabled is false (a text-only model)",
                "the released TroL models are vision-language models");
  }
  const auto holder = source + "/model.safetensors";
  const auto& embedding = require_tensor(weights, phi3 ? "model.embed_tokens.weight" : "model.tok_embeddings.weight", holder);
  const auto torch_dtype = torch_dtype_name(dtype.value_or(embedding.scalar_type()));

  ReleasedTrolFolder out;
  out.gating = released_gates(config, weights, holder);
  if (phi3) {
    to_released_phi3(config, weights, torch_dtype, source, out);
  } else {
    to_released_internlm2(config, weights, torch_dtype, source, out);
  }
  if (!config.trol.shared_gate) {
    out.warnings.push_back("per-layer gates (model.trol.shared_gate false): trol import reads them per layer; the "
                           "authors' code builds one Linear shared by all layers ([Linear] * n) and would keep the last "
                           "layer's");
  }
  if (dtype) {
    for (auto* tensors : {&out.weights, &out.gating}) {
      for (auto& [name, tensor] : *tensors) {
        if (tensor.is_floating_point()) tensor = tensor.to(*dtype);
      }
    }
  }
  return out;
}

}  // namespace trol
