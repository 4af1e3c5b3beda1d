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

}  // namespace trol
