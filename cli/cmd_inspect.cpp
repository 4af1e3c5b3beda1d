// trol inspect CONFIG [key=value ...]: print the resolved model, its modules and parameter groups.
#include <spdlog/spdlog.h>

#include <iostream>

#include "cli/commands.h"
#include "train/run_config.h"
#include "trol/parameter_count.h"

namespace trol::cli {

void add_inspect_command(CLI::App& app) {
  struct Args {
    std::string config;
    std::vector<std::string> overrides;
    bool parameters = false;
    bool count_only = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("inspect", "Build the model of CONFIG and print its parameter groups (and names)");
  cmd->add_option("config", args->config, "YAML run config")->required()->check(CLI::ExistingFile);
  cmd->add_option("overrides", args->overrides, "key.path=value overrides of the config");
  cmd->add_flag("--parameters", args->parameters, "list every parameter with its shape and group");
  cmd->add_flag("--count-only", args->count_only,
                "print the counts per group from the config alone, without building the model (for real sizes)")
      ->excludes("--parameters");
  cmd->callback([args] {
    const auto config = load_run_config(args->config, args->overrides);
    print_parameter_groups(config.model, args->count_only, args->parameters, std::cout);
  });
}

}  // namespace trol::cli
