// trol plot RUN_DIR [--out DIR]: the training curves of a run from its metrics.jsonl:
// loss.png and lr.png (the logged steps against the global step, each stage's start marked) and gates.png, the
// mean TroL mixing ratio of every layer along training (rows = layers, columns = logged steps).
#include <spdlog/spdlog.h>

#include <filesystem>

#include "cli/commands.h"
#include "eval/plots.h"
#include "eval/training_curves.h"

namespace trol::cli {

void add_plot_command(CLI::App& app) {
  struct Args {
    std::string run, out;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("plot", "Plot a run's loss and learning-rate curves and its per-layer mixing ratios");
  cmd->add_option("run", args->run, "the run folder (train.output_dir)")->required();
  cmd->add_option("--out", args->out, "folder for the PNGs (default: RUN/plots)");
  cmd->callback([args] {
    const auto steps = read_training_log(args->run + "/metrics.jsonl");
    const auto out = args->out.empty() ? args->run + "/plots" : args->out;
    std::filesystem::create_directories(out);

    Series loss{"loss", {}, {}}, lr{"learning rate", {}, {}};
    for (const auto& step : steps) {
      loss.values.push_back(step.loss);
      lr.values.push_back(step.lr);
      loss.steps.push_back(static_cast<double>(step.global_step));
    }
    lr.steps = loss.steps;
    const auto starts = stage_starts(steps);
    write_line_plot(out + "/loss.png", "training loss (logged steps)", {loss}, starts);
    write_line_plot(out + "/lr.png", "learning rate (logged steps)", {lr}, starts);
    std::vector<std::string> written{out + "/loss.png", out + "/lr.png"};

    // Only the steps that logged gates (traversal on) form the heat-map's columns.
    std::vector<std::vector<double>> layers;
    std::vector<std::pair<std::string, std::pair<int, int>>> gate_stages;  // name, [first, end) column
    for (const auto& step : steps) {
      if (step.gate_mean.empty()) continue;
      if (layers.empty()) layers.resize(step.gate_mean.size());
      if (step.gate_mean.size() != layers.size()) continue;  // another model in the same folder
      const int column = static_cast<int>(layers.front().size());
      for (size_t l = 0; l < layers.size(); ++l) layers[l].push_back(step.gate_mean[l]);
      if (gate_stages.empty() || gate_stages.back().first != step.stage) gate_stages.push_back({step.stage, {column, column}});
      gate_stages.back().second.second = column + 1;
    }
    if (!layers.empty()) {
      write_heatmap(out + "/gates.png", "mean mixing ratio w per layer along training", layers, gate_stages,
                    "logged steps");
      written.push_back(out + "/gates.png");
    } else {
      spdlog::info("no mixing ratios in {}/metrics.jsonl (traversal off): no gates.png", args->run);
    }
    for (const auto& file : written) spdlog::info("wrote {}", file);
  });
}

}  // namespace trol::cli
