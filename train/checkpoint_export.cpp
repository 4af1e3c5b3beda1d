#include "train/checkpoint_export.h"

#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <map>
#include <optional>

#include "train/checkpoint.h"
#include "train/run_config.h"
#include "train/runtime.h"
#include "trol/hf_config.h"
#include "trol/merged_weights.h"
#include "trol/model.h"
#include "trol/released_layout.h"
#include "trol/safetensors.h"

namespace trol {
namespace {

// The checkpoint's tensors as stored (no model is built, so nothing changes dtype or value),
// renamed to the released layout; the gates go to a file of their own, as the authors ship them.
void export_released(const std::string& checkpoint, const ModelConfig& config, const std::string& dtype,
                     const std::string& out) {
  const auto convert_to = dtype.empty() ? std::nullopt : std::optional(parse_dtype(dtype, "--dtype"));
  auto released =
      released_trol_folder(config, load_safetensors(checkpoint + "/model.safetensors").tensors, convert_to, checkpoint);
  std::filesystem::create_directories(out);
  const std::map<std::string, std::string> metadata{{"format", "pt"}, {"producer", "trol export"}};
  save_safetensors(out + "/model.safetensors", released.weights, metadata);
  save_safetensors(out + "/trol_gating.safetensors", released.gating, metadata);
  write_file_atomically(out + "/config.json", released.config.dump(2) + "\n");
  for (const auto& note : released.notes) spdlog::info("{}", note);
  for (const auto& warning : released.warnings) spdlog::warn("{}", warning);
  spdlog::info("wrote {} (released TroL layout, {} tensors, the gates of {} layers in trol_gating.safetensors); "
               "copy the tokenizer files (tokenizer.model, tokenizer_config.json, added_tokens.json) from the original "
               "folder. The authors' code reads trol_gating.pt: {}",
               out, released.weights.size(), released.gating.size() / 2, kGatingToPickle);
}

}  // namespace

void export_checkpoint(const CheckpointExport& request) {
  namespace fs = std::filesystem;
  const auto config_file = request.checkpoint + "/config.yaml", weights_file = request.checkpoint + "/model.safetensors";
  for (const auto& file : {config_file, weights_file}) {
    if (!fs::exists(file)) throw std::runtime_error(file + " is missing: --model takes a checkpoint folder");
  }
  if (fs::exists(request.out) && fs::equivalent(request.checkpoint, request.out)) {
    throw std::runtime_error("--out must be another folder than --model");
  }
  const auto config = load_run_config(config_file);
  if (request.format == "released") {
    if (request.merge_lora) {
      throw std::runtime_error("--merge-lora does not go with --format released: the released TroL-1.8B/7B layout keeps "
                               "its Partial-LoRA adapters (<linear>.lora_A/lora_B) beside the base weights, and "
                               "TroL-3.8B has none");
    }
    export_released(request.checkpoint, config.model, request.dtype, request.out);
    return;
  }
  TrolModel model(config.model);
  load_model_weights(weights_file, *model);
  const bool has_adapters = config.model.lora.rank > 0;
  if (has_adapters && config.model.lora.partial) {
    throw std::runtime_error(request.checkpoint + " has Partial LoRA adapters (model.lora.partial), whose update applies at "
                             "image-token positions only and cannot be folded into a weight; the checkpoint folder "
                             "itself is the model (trol eval and trol generate read it), and --format released "
                             "writes it in the TroL authors' layout");
  }
  if (has_adapters && !request.merge_lora) {
    throw std::runtime_error(request.checkpoint + " has LoRA adapters (model.lora.rank " +
                             std::to_string(config.model.lora.rank) + "): pass --merge-lora to fold them into the weights");
  }

  auto [tensors, adapters, merged] = merged_model_tensors(model);
  fs::create_directories(request.out);
  if (request.format == "hf") {
    const auto dtype_name = request.dtype.empty() ? std::string("float32") : request.dtype;
    const auto dtype = parse_dtype(dtype_name, "--dtype");
    for (auto& [name, tensor] : tensors) {
      if (tensor.is_floating_point()) tensor = tensor.to(dtype);
    }
    save_safetensors(request.out + "/model.safetensors", tensors, {{"format", "pt"}, {"producer", "trol export"}});
    write_file_atomically(request.out + "/config.json", hf_config_json(config.model, dtype_name).dump(2) + "\n");
    spdlog::info("wrote {} (Hugging Face layout, {} tensors in {}, {} LoRA adapters merged)", request.out, tensors.size(),
                 dtype_name, adapters);
    return;
  }
  auto yaml = YAML::LoadFile(config_file);
  if (yaml["model"] && yaml["model"]["lora"]) yaml["model"].remove("lora");
  if (yaml["model"] && yaml["model"]["quantize"]) yaml["model"].remove("quantize");
  YAML::Emitter emitter;
  emitter << yaml;
  save_safetensors(request.out + "/model.safetensors", tensors, {{"format", "pt"}, {"producer", "trol export"}});
  write_file_atomically(request.out + "/config.yaml", std::string(emitter.c_str()) + "\n");
  spdlog::info("wrote {} ({} tensors, {} LoRA adapters merged, {} quantized weights written dequantized)", request.out,
               tensors.size(), adapters, config.model.quantize == "none" ? 0 : merged);
}

}  // namespace trol
