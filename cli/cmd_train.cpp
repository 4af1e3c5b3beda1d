// trol train CONFIG [key.path=value ...]: run the stages of a training recipe, then (with an
// enabled `eval:` section) evaluate the final model and write results.json and the figures.
#include <spdlog/spdlog.h>

#include <sstream>

#include "cli/commands.h"
#include "train/distributed/launched_run.h"
#include "train/evaluation_report.h"
#include "train/periodic_eval.h"
#include "train/trainer.h"
#include "trol/config_reader.h"

namespace trol::cli {

void add_train_command(CLI::App& app) {
  struct Args {
    std::string config;
    std::vector<std::string> overrides;
    std::string stages;  // comma-separated
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("train", "Train a TroL model: run the stages of CONFIG in order, then evaluate");
  cmd->add_option("config", args->config, "YAML run config")->required()->check(CLI::ExistingFile);
  cmd->add_option("overrides", args->overrides, "key.path=value overrides of the config");
  cmd->add_option("--stages", args->stages, "run only these stages (comma-separated names, in the config's order)");
  cmd->callback([args] {
    auto config = load_run_config(args->config, args->overrides);
    if (!args->stages.empty()) {
      std::vector<std::string> names;
      std::stringstream list(args->stages);
      for (std::string name; std::getline(list, name, ',');) names.push_back(name);
      keep_stages(config.train, names);
    }
    if (config.train.stages.empty()) throw ConfigError(config.source + ": train.stages: no stages to run");
    // torchrun / launch.sh / srun: one rank of several (world size 1: no process group at all).
    const auto env = read_launched_env(config);
    spdlog::info("config {} with overrides applied:\n{}", config.source, config.effective_yaml);
    configure_runtime(config.runtime);
    const auto group = connect_launched_run(env, config);
    Trainer trainer(std::move(config), group);
    const auto stages = trainer.train();
    if (trainer.stopped()) return;  // a stop signal: the checkpoint is written, exit 0
    // Every rank generates its share of the public benchmarks; rank 0 runs the rest and writes.
    if (trainer.config().eval.enabled) {
      evaluate_and_report(trainer.model(), trainer.config(), stages, trainer.config().train.output_dir, eval_ranks(group.get()));
    }
  });
}

}  // namespace trol::cli
