// trol import --llm HF_DIR [--vision HF_DIR] [--gating FILE] --out DIR [key.path=value ...]: a
// Hugging Face backbone (and CLIP vision tower), or a released TroL-1.8B/7B model, as a trol
// checkpoint folder (config.yaml + model.safetensors)
// that `train.init_from`, `trol eval --model`, `trol generate` and `trol forward` take.
#include <spdlog/spdlog.h>

#include <filesystem>

#include "cli/commands.h"
#include "train/model_import.h"
#include "trol/safetensors.h"

namespace trol::cli {

void add_import_command(CLI::App& app) {
  struct Args {
    std::string llm, vision, gating, out;
    std::vector<std::string> overrides;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("import", "Turn a Hugging Face backbone (+ CLIP vision tower) into a trol checkpoint");
  cmd->add_option("--llm", args->llm, "Hugging Face folder of the LLM (config.json, safetensors)")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--vision", args->vision, "Hugging Face folder of a CLIP model or vision tower")->check(CLI::ExistingDirectory);
  cmd->add_option("--gating", args->gating, "the gates of a released TroL model (trol_gating.pt or .safetensors; "
                                            "default: the one in the --llm folder)")->check(CLI::ExistingFile);
  cmd->add_option("--out", args->out, "checkpoint folder to write")->required();
  cmd->add_option("overrides", args->overrides, "key.path=value settings of the imported config (e.g. model.image_token_id=92543)");
  cmd->callback([args] {
    namespace fs = std::filesystem;
    for (const auto& source : {args->llm, args->vision}) {
      if (!source.empty() && fs::exists(args->out) && fs::equivalent(source, args->out)) {
        throw std::runtime_error("--out must be a folder of its own, not " + source);
      }
    }
    fs::create_directories(args->out);
    const auto imported = import_hf_model(args->llm, args->vision, args->overrides, args->out + "/config.yaml", args->gating);
    for (const auto& note : imported.notes) spdlog::info("{}", note);
    NamedTensors tensors;
    for (const auto& p : imported.model->named_parameters()) tensors.emplace_back(p.key(), p.value());
    for (const auto& b : imported.model->named_buffers()) tensors.emplace_back(b.key(), b.value());
    save_safetensors(args->out + "/model.safetensors", tensors, {{"format", "pt"}, {"producer", "trol import"}});
    spdlog::info("wrote {} ({} tensors)", args->out, tensors.size());
  });
}

}  // namespace trol::cli
