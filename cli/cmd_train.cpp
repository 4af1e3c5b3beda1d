// trol train CONFIG [key.path=value ...]: run the stages of a training recipe, then (with an
// enabled `eval:` section) evaluate the final model and write results.json and the figures.
#include <spdlog/spdlog.h>

#include <fstream>
#include <sstream>

#include "cli/commands.h"
#include "eval/plots.h"
#include "train/trainer.h"
#include "trol/config_reader.h"

namespace trol::cli {

namespace {

void evaluate_and_report(Trainer& trainer, const std::vector<StageResult>& stages) {
  const auto& config = trainer.config();
  const auto& out = config.train.output_dir;
  auto options = config.eval;
  options.output_dir = out;
  const auto report = evaluate_builtin(trainer.model(), config.data, options);

  nlohmann::ordered_json results;
  results["variant"] = config.model.trol.traversal ? "TroL" : "traversal off";
  results["config"] = config.source;
  results["metrics"] = report.metrics;
  results["eval_items"] = report.items;
  results["eval_unparsable"] = report.unparsable;
  results["eval_seconds"] = report.seconds;
  nlohmann::ordered_json training = nlohmann::ordered_json::array();
  std::vector<double> losses, boundaries;
  for (const auto& s : stages) {
    training.push_back({{"stage", s.name}, {"steps", s.losses.size()}, {"seconds", s.seconds},
                        {"final_loss", s.losses.empty() ? 0.0 : s.losses.back()}, {"losses", s.losses}});
    losses.insert(losses.end(), s.losses.begin(), s.losses.end());
    boundaries.push_back(static_cast<double>(losses.size()));
  }
  results["training"] = training;
  results["mean_gate"] = report.mean_gate;
  std::ofstream(out + "/results.json") << results.dump(2) << "\n";
  write_line_plot(out + "/loss.png", "training loss (" + results["variant"].get<std::string>() + ")",
                  {{results["variant"].get<std::string>(), losses}}, boundaries);
  if (!report.mean_gate.empty()) {
    write_heatmap(out + "/mixing_ratios.png", "mean TroL mixing ratio w per layer and token (POPE prompts)",
                  report.mean_gate);
  }
  spdlog::info("evaluation: {} items in {:.0f}s; results in {}/results.json", report.items, report.seconds, out);
}

}  // namespace

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
    spdlog::info("config {} with overrides applied:\n{}", config.source, config.effective_yaml);
    configure_runtime(config.runtime);
    Trainer trainer(std::move(config));
    const auto stages = trainer.train();
    if (trainer.config().eval.enabled) evaluate_and_report(trainer, stages);
  });
}

}  // namespace trol::cli
