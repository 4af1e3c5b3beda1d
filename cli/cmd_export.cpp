// trol export --model CHECKPOINT --out DIR [--merge-lora] [--format trol|hf|released] [--dtype D]: a
// checkpoint folder (model.safetensors + config.yaml) as a self-contained folder of the same
// layout, or (--format hf) as a Hugging Face folder: config.json (trol/hf_config.h) and
// model.safetensors under the same names, which `trol import --llm DIR` reads back exactly. With --merge-lora every adapter
// is folded into its base weight (W + alpha/r B A) and the config loses its `model.lora`
// section, so the result is a plain model that `trol eval`, `trol generate` and Hugging Face
// loaders read without knowing about LoRA. Weights stored quantized (model.quantize) are
// written dequantized, in float32. --format released writes the TroL authors' layout of the
// model's family (trol/released_layout.h), the inverse of `trol import` of a released folder.
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include "cli/commands.h"
#include "train/checkpoint.h"
#include "train/run_config.h"
#include "train/runtime.h"
#include "trol/hf_config.h"
#include "trol/lora_linear.h"
#include "trol/model.h"
#include "trol/released_layout.h"
#include "trol/safetensors.h"

namespace trol::cli {
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

void add_export_command(CLI::App& app) {
  struct Args {
    std::string model, out;
    bool merge_lora = false;
    std::string format = "trol", dtype;  // dtype "": float32 for --format hf, as stored for released
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("export", "Write a checkpoint as a plain model folder (folding LoRA adapters in)");
  cmd->add_option("--model", args->model, "checkpoint folder (model.safetensors and config.yaml)")->required();
  cmd->add_option("--out", args->out, "folder to write")->required();
  cmd->add_flag("--merge-lora", args->merge_lora, "fold the LoRA adapters into the base weights");
  cmd->add_option("--format", args->format,
                  "trol: config.yaml + model.safetensors; hf: config.json + model.safetensors; released: the TroL "
                  "authors' layout (TroL-3.8B for phi3, TroL-1.8B/7B for internlm2), gates in trol_gating.safetensors "
                  "(for the authors' code, which reads trol_gating.pt: " + std::string(kGatingToPickle) + ")")
      ->check(CLI::IsMember({"trol", "hf", "released"}));
  cmd->add_option("--dtype", args->dtype,
                  "--format hf and released: floating-point tensors as float32, bfloat16 or float16 (hf default: "
                  "float32; released default: each as stored)")
      ->check(CLI::IsMember({"float32", "bfloat16", "float16"}));
  cmd->callback([args] {
    namespace fs = std::filesystem;
    const auto config_file = args->model + "/config.yaml", weights_file = args->model + "/model.safetensors";
    for (const auto& file : {config_file, weights_file}) {
      if (!fs::exists(file)) throw std::runtime_error(file + " is missing: --model takes a checkpoint folder");
    }
    if (fs::exists(args->out) && fs::equivalent(args->model, args->out)) {
      throw std::runtime_error("--out must be another folder than --model");
    }
    const auto config = load_run_config(config_file);
    if (args->format == "released") {
      if (args->merge_lora) {
        throw std::runtime_error("--merge-lora does not go with --format released: the released TroL-1.8B/7B layout keeps "
                                 "its Partial-LoRA adapters (<linear>.lora_A/lora_B) beside the base weights, and "
                                 "TroL-3.8B has none");
      }
      export_released(args->model, config.model, args->dtype, args->out);
      return;
    }
    TrolModel model(config.model);
    load_model_weights(weights_file, *model);
    const bool has_adapters = config.model.lora.rank > 0;
    if (has_adapters && config.model.lora.partial) {
      throw std::runtime_error(args->model + " has Partial LoRA adapters (model.lora.partial), whose update applies at "
                               "image-token positions only and cannot be folded into a weight; the checkpoint folder "
                               "itself is the model (trol eval and trol generate read it), and --format released "
                               "writes it in the TroL authors' layout");
    }
    if (has_adapters && !args->merge_lora) {
      throw std::runtime_error(args->model + " has LoRA adapters (model.lora.rank " + std::to_string(config.model.lora.rank) +
                               "): pass --merge-lora to fold them into the weights");
    }

    // Adapted or quantized layers export their merged, dequantized weight; adapters and
    // quantized codes are not written.
    std::map<std::string, torch::Tensor> merged;
    std::set<std::string> dropped;
    int64_t adapters = 0;
    for (const auto& item : model->named_modules()) {
      const auto* linear = dynamic_cast<const LoraLinearImpl*>(item.value().get());
      if (linear == nullptr || (!linear->has_adapter() && linear->quantized() == QuantizeMode::none)) continue;
      merged[item.key() + ".weight"] = linear->merged_weight();
      adapters += linear->has_adapter() ? 1 : 0;
      for (const auto& p : linear->named_parameters(/*recurse=*/false)) {
        if (p.key() != "weight" && p.key() != "bias") dropped.insert(item.key() + "." + p.key());
      }
      for (const auto& b : linear->named_buffers(/*recurse=*/false)) dropped.insert(item.key() + "." + b.key());
    }
    NamedTensors tensors;
    for (const auto& p : model->named_parameters()) {
      if (dropped.count(p.key()) != 0) continue;
      const auto found = merged.find(p.key());
      tensors.emplace_back(p.key(), found != merged.end() ? found->second : p.value().detach());
    }
    for (const auto& b : model->named_buffers()) {
      if (dropped.count(b.key()) == 0) tensors.emplace_back(b.key(), b.value());
    }

    fs::create_directories(args->out);
    if (args->format == "hf") {
      if (args->dtype.empty()) args->dtype = "float32";
      const auto dtype = parse_dtype(args->dtype, "--dtype");
      for (auto& [name, tensor] : tensors) {
        if (tensor.is_floating_point()) tensor = tensor.to(dtype);
      }
      save_safetensors(args->out + "/model.safetensors", tensors, {{"format", "pt"}, {"producer", "trol export"}});
      write_file_atomically(args->out + "/config.json", hf_config_json(config.model, args->dtype).dump(2) + "\n");
      spdlog::info("wrote {} (Hugging Face layout, {} tensors in {}, {} LoRA adapters merged)", args->out, tensors.size(),
                   args->dtype, adapters);
      return;
    }
    auto yaml = YAML::LoadFile(config_file);
    if (yaml["model"] && yaml["model"]["lora"]) yaml["model"].remove("lora");
    if (yaml["model"] && yaml["model"]["quantize"]) yaml["model"].remove("quantize");
    YAML::Emitter emitter;
    emitter << yaml;
    save_safetensors(args->out + "/model.safetensors", tensors, {{"format", "pt"}, {"producer", "trol export"}});
    write_file_atomically(args->out + "/config.yaml", std::string(emitter.c_str()) + "\n");
    spdlog::info("wrote {} ({} tensors, {} LoRA adapters merged, {} quantized weights written dequantized)", args->out,
                 tensors.size(), adapters, config.model.quantize == "none" ? 0 : merged.size());
  });
}

}  // namespace trol::cli
