// trol train CONFIG [key.path=value ...]: run the stages of a training recipe, then (with an
// enabled `eval:` section) evaluate the final model and write results.json and the figures.
// The work is train/evaluation_report.h's train_and_evaluate.
#include <sstream>

#include "cli/commands.h"
#include "train/evaluation_report.h"
#include "train/train_config.h"

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
    train_and_evaluate(std::move(config));
  });
}

}  // namespace trol::cli
