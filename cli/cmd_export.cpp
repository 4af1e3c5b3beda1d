// trol export --model CHECKPOINT --out DIR [--merge-lora] [--format trol|hf|released] [--dtype D]: a
// checkpoint folder (model.safetensors + config.yaml) as a self-contained folder of the same
// layout, or (--format hf) as a Hugging Face folder: config.json (trol/hf_config.h) and
// model.safetensors under the same names, which `trol import --llm DIR` reads back exactly. With --merge-lora every adapter
// is folded into its base weight (W + alpha/r B A) and the config loses its `model.lora`
// section, so the result is a plain model that `trol eval`, `trol generate` and Hugging Face
// loaders read without knowing about LoRA. Weights stored quantized (model.quantize) are
// written dequantized, in float32. --format released writes the TroL authors' layout of the
// model's family (trol/released_layout.h), the inverse of `trol import` of a released folder.
// The work is train/checkpoint_export.h's; this file parses the arguments.
#include "cli/commands.h"
#include "train/checkpoint_export.h"
#include "trol/released_layout.h"

namespace trol::cli {

void add_export_command(CLI::App& app) {
  auto args = std::make_shared<CheckpointExport>();
  auto* cmd = app.add_subcommand("export", "Write a checkpoint as a plain model folder (folding LoRA adapters in)");
  cmd->add_option("--model", args->checkpoint, "checkpoint folder (model.safetensors and config.yaml)")->required();
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
  cmd->callback([args] { export_checkpoint(*args); });
}

}  // namespace trol::cli
