#include "eval/training_curves.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>

namespace trol {

std::vector<LoggedStep> read_training_log(const std::string& metrics_jsonl) {
  std::ifstream in(metrics_jsonl);
  if (!in) throw std::runtime_error(metrics_jsonl + " is missing (is the folder a trol train output_dir?)");
  std::map<int64_t, LoggedStep> by_global_step;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    const auto where = metrics_jsonl + ":" + std::to_string(number) + ": ";
    try {
      const auto row = nlohmann::json::parse(line);
      if (row.contains("eval")) continue;
      LoggedStep step;
      step.stage = row.at("stage").get<std::string>();
      step.stage_step = row.at("step").get<int64_t>();
      step.global_step = row.at("global_step").get<int64_t>();
      step.loss = row.at("loss").get<double>();
      step.lr = row.at("lr").get<double>();
      if (row.contains("gate_mean")) step.gate_mean = row["gate_mean"].get<std::vector<double>>();
      if (step.stage_step < 1 || step.stage_step > step.global_step) {
        throw std::runtime_error(where + "step " + std::to_string(step.stage_step) + " of stage '" + step.stage +
                                 "' does not fit global_step " + std::to_string(step.global_step));
      }
      by_global_step[step.global_step] = std::move(step);
    } catch (const nlohmann::json::exception& e) {
      throw std::runtime_error(where + e.what());
    }
  }
  std::vector<LoggedStep> log;
  for (auto& [global_step, step] : by_global_step) log.push_back(std::move(step));
  if (log.empty()) throw std::runtime_error(metrics_jsonl + " holds no logged training steps");
  return log;
}

std::vector<StageStart> stage_starts(const std::vector<LoggedStep>& log) {
  std::vector<StageStart> starts;
  for (const auto& step : log) {
    if (starts.empty() || starts.back().name != step.stage) {
      starts.push_back({step.stage, static_cast<double>(step.global_step - step.stage_step + 1)});
    }
  }
  return starts;
}

LossCurve loss_curve(const std::string& label, const nlohmann::ordered_json& training,
                     const std::vector<StageStart>& logged_starts) {
  LossCurve curve{{label, {}, {}}, {}};
  double next_step = 1;
  for (const auto& stage : training) {
    const auto name = stage.at("stage").get<std::string>();
    double first = next_step;
    for (const auto& logged : logged_starts) {
      if (logged.name == name) first = logged.step;
    }
    curve.stage_starts.push_back({name, first});
    const auto& losses = stage.at("losses");
    for (size_t i = 0; i < losses.size(); ++i) {
      curve.series.values.push_back(losses[i].get<double>());
      curve.series.steps.push_back(first + static_cast<double>(i));
    }
    next_step = first + static_cast<double>(losses.size());
  }
  return curve;
}

LossCurve run_loss_curve(const std::string& run_dir, const nlohmann::ordered_json& results) {
  const auto metrics = run_dir + "/metrics.jsonl";
  const auto logged = std::filesystem::exists(metrics) ? stage_starts(read_training_log(metrics)) : std::vector<StageStart>{};
  try {
    return loss_curve(results.at("variant").get<std::string>(), results.at("training"), logged);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(run_dir + "/results.json: " + e.what());
  }
}

void write_loss_figure(const std::string& png_path, const std::string& title, const std::vector<LossCurve>& curves) {
  std::vector<Series> series;
  std::vector<StageStart> starts;
  for (const auto& curve : curves) {
    series.push_back(curve.series);
    for (const auto& start : curve.stage_starts) {
      bool seen = false;
      for (const auto& s : starts) seen = seen || (s.name == start.name && s.step == start.step);
      if (!seen) starts.push_back(start);
    }
  }
  std::stable_sort(starts.begin(), starts.end(), [](const StageStart& a, const StageStart& b) { return a.step < b.step; });
  write_line_plot(png_path, title, series, starts);
}

std::vector<std::string> write_training_figures(const std::string& run_dir, const std::string& out_dir) {
  const auto steps = read_training_log(run_dir + "/metrics.jsonl");
  std::filesystem::create_directories(out_dir);
  Series loss{"loss", {}, {}}, lr{"learning rate", {}, {}};
  for (const auto& step : steps) {
    loss.values.push_back(step.loss);
    lr.values.push_back(step.lr);
    loss.steps.push_back(static_cast<double>(step.global_step));
  }
  lr.steps = loss.steps;
  const auto starts = stage_starts(steps);
  write_line_plot(out_dir + "/loss.png", "training loss (logged steps)", {loss}, starts);
  write_line_plot(out_dir + "/lr.png", "learning rate (logged steps)", {lr}, starts);
  std::vector<std::string> written{out_dir + "/loss.png", out_dir + "/lr.png"};

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
    write_heatmap(out_dir + "/gates.png", "mean mixing ratio w per layer along training", layers, gate_stages, "logged steps");
    written.push_back(out_dir + "/gates.png");
  }
  return written;
}

}  // namespace trol
