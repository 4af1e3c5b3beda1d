// trol eval CONFIG --model WEIGHTS [key.path=value ...]: evaluate trained weights on the
// config's benchmarks without training, writing what `trol train` writes after its stages;
// under a launcher, sharded across the ranks. The work is train/evaluation_report.h's.
#include "cli/commands.h"
#include "train/evaluation_report.h"

namespace trol::cli {

void add_eval_command(CLI::App& app) {
  struct Args {
    std::string config;
    std::vector<std::string> overrides;
    std::string model;
    std::string out;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("eval", "Evaluate trained weights on the benchmarks of CONFIG's eval section");
  cmd->add_option("config", args->config, "YAML run config (model, data and eval sections)")->required()->check(CLI::ExistingFile);
  cmd->add_option("overrides", args->overrides, "key.path=value overrides of the config");
  cmd->add_option("--model", args->model, "model.safetensors, or a checkpoint folder holding one")->required();
  cmd->add_option("--out", args->out, "folder for results.json, predictions/ and figures (default: train.output_dir)");
  cmd->callback([args] {
    evaluate_checkpoint(load_run_config(args->config, args->overrides), args->model, args->out);
  });
}

}  // namespace trol::cli
