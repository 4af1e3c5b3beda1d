// trol train CONFIG [key.path=value ...]: run the stages of a training recipe, then (with an
// enabled `eval:` section) evaluate the final model and write results.json and the figures.
#include <spdlog/spdlog.h>

#include <sstream>

#include "cli/commands.h"
#include "cli/evaluation_report.h"
#include "train/distributed/launch_env.h"
#include "train/distributed/process_group.h"
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
    LaunchEnv env;
    try {
      env = read_launch_env();
    } catch (const std::invalid_argument& e) {
      throw ConfigError(std::string("launcher environment: ") + e.what());
    }
    if (env.distributed()) {
      spdlog::set_pattern(fmt::format("[%H:%M:%S.%e] [rank {}] [%^%l%$] %v", env.rank));
      if (env.rank > 0) spdlog::set_level(spdlog::level::warn);  // rank 0 tells the story
      // Each rank drives the GPU of its LOCAL_RANK.
      if (config.runtime.device == "cuda") config.runtime.device = "cuda:" + std::to_string(env.local_rank);
    }
    spdlog::info("config {} with overrides applied:\n{}", config.source, config.effective_yaml);
    configure_runtime(config.runtime);
    std::shared_ptr<ProcessGroup> group;
    if (env.distributed()) {
      ProcessGroupOptions options;
      options.backend = config.distributed.backend;
      options.timeout = std::chrono::milliseconds(static_cast<int64_t>(config.distributed.timeout_seconds * 1000));
      options.device = parse_device(config.runtime.device);
      group = ProcessGroup::connect(env, options);
      spdlog::info("rank {} of {} ({}, launched by {}), rendezvous at {}:{}", env.rank, env.world_size,
                   group->backend_name(), env.launcher, env.master_addr, env.master_port);
    }
    Trainer trainer(std::move(config), group);
    const auto stages = trainer.train();
    if (trainer.stopped()) return;  // a stop signal: the checkpoint is written, exit 0
    if (env.rank > 0) return;  // rank 0 evaluates the final model
    if (trainer.config().eval.enabled) {
      evaluate_and_report(trainer.model(), trainer.config(), stages, trainer.config().train.output_dir);
    }
  });
}

}  // namespace trol::cli
