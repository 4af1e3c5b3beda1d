// trol plot RUN_DIR [--out DIR]: the training curves of a run from its metrics.jsonl:
// loss.png and lr.png (one point per logged step, stage changes marked) and gates.png, the
// mean TroL mixing ratio of every layer along training (rows = layers, columns = logged steps).
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "eval/plots.h"

namespace trol::cli {
namespace {

struct LoggedStep {
  std::string stage;
  double loss = 0, lr = 0;
  std::vector<double> gate_mean;
};

// The logged steps in order. A resumed run logs again the steps after its checkpoint, with the
// same values: the last record of a step wins.
std::vector<LoggedStep> read_metrics(const std::string& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error(file + " is missing (is the folder a trol train output_dir?)");
  std::map<int64_t, LoggedStep> steps;
  std::string line;
  for (int64_t number = 1, order = 0; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    try {
      const auto row = nlohmann::json::parse(line);
      LoggedStep step;
      step.stage = row.at("stage").get<std::string>();
      step.loss = row.at("loss").get<double>();
      step.lr = row.at("lr").get<double>();
      if (row.contains("gate_mean")) step.gate_mean = row["gate_mean"].get<std::vector<double>>();
      steps[row.contains("global_step") ? row["global_step"].get<int64_t>() : order++] = step;
    } catch (const nlohmann::json::exception& e) {
      throw std::runtime_error(file + ":" + std::to_string(number) + ": " + e.what());
    }
  }
  std::vector<LoggedStep> ordered;
  for (auto& [index, step] : steps) ordered.push_back(std::move(step));
  if (ordered.empty()) throw std::runtime_error(file + " holds no logged steps");
  return ordered;
}

}  // namespace

void add_plot_command(CLI::App& app) {
  struct Args {
    std::string run, out;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("plot", "Plot a run's loss and learning-rate curves and its per-layer mixing ratios");
  cmd->add_option("run", args->run, "the run folder (train.output_dir)")->required();
  cmd->add_option("--out", args->out, "folder for the PNGs (default: RUN/plots)");
  cmd->callback([args] {
    const auto steps = read_metrics(args->run + "/metrics.jsonl");
    const auto out = args->out.empty() ? args->run + "/plots" : args->out;
    std::filesystem::create_directories(out);

    Series loss{"loss", {}}, lr{"learning rate", {}};
    std::vector<double> boundaries;  // between the last point of a stage and the first of the next
    for (size_t i = 0; i < steps.size(); ++i) {
      loss.values.push_back(steps[i].loss);
      lr.values.push_back(steps[i].lr);
      if (i > 0 && steps[i].stage != steps[i - 1].stage) boundaries.push_back(static_cast<double>(i) + 0.5);
    }
    write_line_plot(out + "/loss.png", "training loss (per logged step)", {loss}, boundaries);
    write_line_plot(out + "/lr.png", "learning rate (per logged step)", {lr}, boundaries);
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
