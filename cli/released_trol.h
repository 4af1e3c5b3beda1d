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
#pragma once

#include <torch/torch.h>
#include <yaml-cpp/yaml.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace trol::cli {

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

// The id of an added token (e.g. "<image>") of the folder's tokenizer (data/hf_added_tokens.h).
std::optional<int64_t> added_token_id(const std::string& dir, const std::string& token);

}  // namespace trol::cli
