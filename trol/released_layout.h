// The layouts of the TroL authors' released checkpoints. TroL-3.8B (trol/arch_phi3, InternVL's
// layout): config.json of model_type "trol" with llm_config (Phi-3) and vision_config
// (InternViT), the backbone under language_model., the image token <IMG_CONTEXT>.
// The InternLM2 flavour (TroL-1.8B, TroL-7B; trol/arch_internlm2): every decoder linear is a Partial-LoRA module
// holding the base weight as `<linear>.ffn.weight` and the adapter as `<linear>.lora_A.weight`
// [r, in] / `<linear>.lora_B.weight` [out, r] (rank 256, alpha 256: the alpha is not stored);
// the vision tower is CLIP ViT-L/14 under `vit.vision_tower.vision_model.` with its position
// table already interpolated to 490 px, read at its last layer (select_layer -1); the gates ship
// apart, as `trol_gating.pt` (a torch.save of a ModuleList's state dict, built as [Linear]*n:
// one gate shared by all layers).
// Both directions live here, beside trol/hf_config.h and trol/safetensors.h, so that C++ code
// converts without the CLI: trol/hf_import.h reads a released folder, `trol export --format
// released` writes one (released_trol_folder).
#pragma once

#include <torch/torch.h>
#include <yaml-cpp/yaml.h>

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "trol/model_config.h"
#include "trol/safetensors.h"

namespace trol {

bool is_released_trol_layout(const std::map<std::string, torch::Tensor>& weights);

// Renames the tensors to trol's names and completes `model` (the `model:` section read from
// config.json) with what the checkpoint implies: the vision tower's shape, the projector, the
// Partial-LoRA adapters, the image token (from the folder's tokenizer files).
void adopt_released_trol_layout(const std::string& dir, std::map<std::string, torch::Tensor>& weights, YAML::Node& model,
                                std::vector<std::string>& notes);

// The gates of `file` (trol_gating.pt as a plain dict of tensors, or .safetensors) as
// model.trol_gating.{i}.{weight,bias}; sets model.trol.shared_gate when every layer's gate is
// the same. Throws std::runtime_error naming the file, with the one-line conversion for the
// OrderedDict that torch.save(state_dict()) writes (LibTorch cannot unpickle its metadata).
std::map<std::string, torch::Tensor> load_trol_gating(const std::string& file, YAML::Node& model);

// LibTorch cannot write the pickle the authors' code loads (torch.save of a state dict); this
// turns the trol_gating.safetensors that `trol export --format released` writes into it (a
// plain dict, which `trol import` reads too).
inline constexpr const char* kGatingToPickle =
    "python -c \"import torch; from safetensors.torch import load_file; "
    "torch.save(load_file('trol_gating.safetensors'), 'trol_gating.pt')\"";

// A trol model in the released layout of its family: what `trol export --format released`
// writes, and `trol import` reads back to the same tensors.
struct ReleasedTrolFolder {
  nlohmann::json config;           // config.json
  NamedTensors weights;            // model.safetensors, under the released names
  NamedTensors gating;             // trol_gating.safetensors: {i}.weight, {i}.bias for every layer i
  std::vector<std::string> notes;     // what the folder does not record and a reader must be told
  std::vector<std::string> warnings;  // where the authors' code would load or run it otherwise than trol
};

// The inverse of adopt_released_trol_layout (+ model_config_from_hf, load_trol_gating) for the
// checkpoint `source` of `config` with the tensors `weights` (its model.safetensors): each
// tensor keeps its stored dtype, or floating ones become `dtype`. A shared gate is written once
// per layer, as the authors' ModuleList([Linear] * n) holds it. Throws std::runtime_error
// naming `source` and the setting for what the released layouts cannot hold (traversal off, a
// text-only model, quantized weights, LoRA other than TroL-1.8B/7B's Partial LoRA on every
// decoder linear, a tower or projector other than the family's), suggesting --format hf.
ReleasedTrolFolder released_trol_folder(const ModelConfig& config, std::map<std::string, torch::Tensor> weights,
                                        std::optional<torch::ScalarType> dtype, const std::string& source);

}  // namespace trol
