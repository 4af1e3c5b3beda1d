// trol eval CONFIG --model WEIGHTS [key.path=value ...]: evaluate trained weights on the
// config's benchmarks without training, writing what `trol train` writes after its stages;
// under a launcher, sharded across the ranks.
#include <spdlog/spdlog.h>

#include <filesystem>

#include "cli/commands.h"
#include "train/periodic_eval.h"
#include "train/checkpoint.h"
#include "train/distributed/launched_run.h"
#include "train/evaluation_report.h"
#include "train/runtime.h"

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
    auto config = load_run_config(args->config, args->overrides);
    // Launched as several ranks (torchrun, launch.sh, srun): each generates its share of eval.suites.
    const auto env = read_launched_env(config);
    configure_runtime(config.runtime);
    const auto group = connect_launched_run(env, config);
    std::string weights = args->model;
    if (std::filesystem::is_directory(weights)) weights += "/model.safetensors";
    if (!std::filesystem::is_regular_file(weights)) {
      throw std::runtime_error("eval: no weights at '" + weights + "' (give model.safetensors or its checkpoint folder)");
    }
    TrolModel model(config.model);
    load_model_weights(weights, *model);
    model->to(parse_device(config.runtime.device), parse_dtype(config.runtime.dtype));
    spdlog::info("eval: weights from {}", weights);
    const auto out = args->out.empty() ? config.train.output_dir : args->out;
    std::filesystem::create_directories(out);
    evaluate_and_report(model, config, {}, out, eval_ranks(group.get()));
  });
}

}  // namespace trol::cli
