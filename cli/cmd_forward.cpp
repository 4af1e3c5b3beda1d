// trol forward --model DIR --input-ids FILE.json [--pixel-values FILE | --image FILE... | --image-features FILE]
//              --out FILE.safetensors [key.path=value ...]:
// one forward pass on given token ids (and images), writing the logits and the per-layer mixing ratios,
// the tool to check a port against the original implementation. DIR is a trol checkpoint
// folder (config.yaml + model.safetensors) or a Hugging Face backbone folder (imported on the
// fly, with fresh gates: pass model.trol.traversal=false to get the backbone's own logits).
// --image-features takes the vision tower's output from elsewhere (data/model_input_files.h), so the
// language side of a port can be checked without the tower, and the tower separately.
// The work is train/parity_forward.h's; this file parses the arguments.
#include "cli/commands.h"
#include "cli/model_inputs.h"
#include "train/parity_forward.h"

namespace trol::cli {

void add_forward_command(CLI::App& app) {
  auto args = std::make_shared<ParityForward>();
  auto* cmd = app.add_subcommand("forward", "Run one forward pass on token ids; write logits and mixing ratios");
  cmd->add_option("--model", args->model, "trol checkpoint folder, or a Hugging Face backbone folder")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--input-ids", args->input_ids, "JSON: [[token ids], ...]")->required()->check(CLI::ExistingFile);
  add_image_options(cmd, args->images);
  cmd->add_option("--out", args->out, "safetensors file to write (logits, attention_mask, gate_ratios)")->required();
  cmd->add_option("overrides", args->overrides, "key.path=value settings of the model's config");
  cmd->callback([args] { forward_to_file(*args); });
}

}  // namespace trol::cli
