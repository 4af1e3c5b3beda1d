#include "eval/results_table.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <stdexcept>

#include "trol/string_affixes.h"

namespace trol {

namespace {

using nlohmann::ordered_json;

void add_if_number(std::vector<ResultRow>& rows, const std::string& suite, const std::string& metric,
                   const ordered_json& value) {
  if (value.is_number()) rows.push_back({suite, metric, value.get<double>()});
}

// Accuracies (HallusionBench's aAcc too) and MME's points.
bool headline_like(const std::string& name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower.find("acc") != std::string::npos || name == "total" || name == "perception" || name == "cognition";
}

}  // namespace

std::vector<ResultRow> result_rows(const std::string& suite, const std::string& benchmark, const ordered_json& metrics) {
  std::vector<ResultRow> rows;
  if (!metrics.is_object()) return rows;
  if (benchmark == "pope") {
    for (const auto& [split, values] : metrics.items()) {
      if (!values.is_object()) continue;
      const bool average = split == "average";
      const auto prefix = suite == "pope_" + split ? std::string() : split + " ";
      for (const char* field : {"accuracy", "precision", "recall", "f1", "yes_ratio"}) {
        if (values.contains(field) && (!average || std::string(field) == "accuracy" || std::string(field) == "f1")) {
          add_if_number(rows, suite, prefix + field, values[field]);
        }
      }
    }
    return rows;
  }
  if (benchmark == "vqa") {
    if (metrics.contains("category")) {
      for (const auto& [category, values] : metrics["category"].items()) {
        if (values.contains("accuracy")) add_if_number(rows, suite, category + " accuracy", values["accuracy"]);
      }
    }
    if (metrics.contains("accuracy")) add_if_number(rows, suite, "accuracy", metrics["accuracy"]);
    return rows;
  }
  for (const auto& [name, value] : metrics.items()) {
    if (value.is_number() && headline_like(name)) {
      add_if_number(rows, suite, name, value);
    } else if (value.is_object()) {
      for (const auto& [inner, number] : value.items()) {
        if (number.is_number() && headline_like(inner)) add_if_number(rows, suite, name + " " + inner, number);
      }
    }
  }
  return rows;
}

std::vector<ResultRow> run_result_rows(const ordered_json& results) {
  std::vector<ResultRow> rows;
  if (!results.contains("suites") || !results.contains("benchmarks")) return rows;
  for (const auto& suite : results["suites"]) {
    const auto name = suite.at("name").get<std::string>();
    if (!results["benchmarks"].contains(name)) continue;
    const auto part = result_rows(name, suite.at("benchmark").get<std::string>(), results["benchmarks"][name]);
    rows.insert(rows.end(), part.begin(), part.end());
  }
  return rows;
}

ordered_json read_run_results(const std::string& run_dir) {
  const auto file = run_dir + "/results.json";
  std::ifstream in(file);
  if (!in) throw std::runtime_error("no results in '" + run_dir + "': " + file + " is missing (run trol train with eval.enabled)");
  try {
    return ordered_json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(file + ": " + e.what());
  }
}

namespace {

// Every label of the runs in first-appearance order, with each run's value by label.
struct LabelledRuns {
  std::vector<std::string> labels;
  std::vector<std::map<std::string, double>> values;
};

LabelledRuns label_runs(const std::vector<ordered_json>& runs) {
  LabelledRuns out;
  for (const auto& run : runs) {
    auto& values = out.values.emplace_back();
    for (const auto& row : run_result_rows(run)) {
      const auto label = row.label();
      if (std::find(out.labels.begin(), out.labels.end(), label) == out.labels.end()) out.labels.push_back(label);
      values.emplace(label, row.value);
    }
  }
  return out;
}

std::string variant_of(const ordered_json& run) {
  return run.contains("variant") && run["variant"].is_string() ? run["variant"].get<std::string>() : "?";
}

}  // namespace

std::string results_table(const std::vector<ordered_json>& runs) {
  const auto labelled = label_runs(runs);
  size_t width = std::string("training seconds").size();
  for (const auto& label : labelled.labels) width = std::max(width, label.size());
  width += 2;
  std::string header = fmt::format("{:<{}}", "metric", width);
  for (const auto& run : runs) header += fmt::format("{:>16}", variant_of(run));
  std::string table = header + "\n" + std::string(header.size(), '-') + "\n";
  for (const auto& label : labelled.labels) {
    std::string line = fmt::format("{:<{}}", label, width);
    for (const auto& values : labelled.values) {
      const auto it = values.find(label);
      line += it == values.end() ? fmt::format("{:>16}", "-") : fmt::format("{:>16.3f}", it->second);
    }
    table += line + "\n";
  }
  std::string time_line = fmt::format("{:<{}}", "training seconds", width);
  for (const auto& run : runs) {
    double seconds = 0;
    if (run.contains("training")) {
      for (const auto& stage : run["training"]) seconds += stage.value("seconds", 0.0);
    }
    time_line += fmt::format("{:>16.0f}", seconds);
  }
  return table + time_line + "\n";
}

ordered_json combined_results(const std::vector<ordered_json>& runs, const std::vector<std::string>& run_dirs) {
  const auto labelled = label_runs(runs);
  ordered_json combined = ordered_json::array();
  for (size_t i = 0; i < runs.size(); ++i) {
    ordered_json entry{{"variant", variant_of(runs[i])}, {"run", i < run_dirs.size() ? run_dirs[i] : ""}};
    for (const auto& label : labelled.labels) {
      const auto it = labelled.values[i].find(label);
      if (it != labelled.values[i].end()) entry[label] = it->second;
    }
    combined.push_back(entry);
  }
  return combined;
}

}  // namespace trol
