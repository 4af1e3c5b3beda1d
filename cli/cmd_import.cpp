// trol import --llm HF_DIR [--vision HF_DIR] [--gating FILE] --out DIR [key.path=value ...]: a
// Hugging Face backbone (and CLIP vision tower), or a released TroL-1.8B/7B model, as a trol
// checkpoint folder (config.yaml + model.safetensors)
// that `train.init_from`, `trol eval --model`, `trol generate` and `trol forward` take.
// The work is train/model_import.h's import_to_checkpoint.
#include "cli/commands.h"
#include "train/model_import.h"

namespace trol::cli {

void add_import_command(CLI::App& app) {
  auto args = std::make_shared<HfImport>();
  auto* cmd = app.add_subcommand("import", "Turn a Hugging Face backbone (+ CLIP vision tower) into a trol checkpoint");
  cmd->add_option("--llm", args->llm, "Hugging Face folder of the LLM (config.json, safetensors)")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--vision", args->vision, "Hugging Face folder of a CLIP model or vision tower")->check(CLI::ExistingDirectory);
  cmd->add_option("--gating", args->gating, "the gates of a released TroL model (trol_gating.pt or .safetensors; "
                                            "default: the one in the --llm folder)")->check(CLI::ExistingFile);
  cmd->add_option("--out", args->out, "checkpoint folder to write")->required();
  cmd->add_option("overrides", args->overrides, "key.path=value settings of the imported config (e.g. model.image_token_id=92543)");
  cmd->callback([args] { import_to_checkpoint(*args); });
}

}  // namespace trol::cli
