// trol report RUN_DIR... [--out DIR]: the results of several runs (each with results.json
// from `trol train`) side by side: a table on stdout, results.json (one object per run) and
// a loss-curve PNG with every run.
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/commands.h"
#include <nlohmann/json.hpp>

#include "eval/training_curves.h"

namespace trol::cli {

namespace {

nlohmann::ordered_json read_results(const std::string& run) {
  const auto file = run + "/results.json";
  std::ifstream in(file);
  if (!in) throw std::runtime_error("no results in '" + run + "': " + file + " is missing (run trol train with eval.enabled)");
  try {
    return nlohmann::ordered_json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(file + ": " + e.what());
  }
}

std::string cell(const nlohmann::ordered_json& metrics, const std::string& benchmark, const std::string& field) {
  if (!metrics.contains(benchmark) || !metrics[benchmark].contains(field)) return "-";
  return fmt::format("{:.3f}", metrics[benchmark][field].get<double>());
}

}  // namespace

void add_report_command(CLI::App& app) {
  struct Args {
    std::vector<std::string> runs;
    std::string out;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("report", "Compare the evaluation results of training runs side by side");
  cmd->add_option("runs", args->runs, "run folders (train.output_dir of each run)")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--out", args->out, "folder for the combined results.json and loss_curve.png");
  cmd->callback([args] {
    std::vector<nlohmann::ordered_json> results;
    for (const auto& run : args->runs) results.push_back(read_results(run));

    std::vector<std::pair<std::string, std::pair<std::string, std::string>>> rows;
    for (const char* split : {"pope_random", "pope_popular", "pope_adversarial"}) {
      for (const char* field : {"accuracy", "precision", "recall", "f1", "yes_ratio"}) {
        rows.push_back({std::string(split) + " " + field, {split, field}});
      }
    }
    for (const char* kind : {"colour", "counting", "position", "multiple_choice"}) {
      rows.push_back({std::string(kind) + " accuracy", {kind, "accuracy"}});
    }
    std::string header = fmt::format("{:<28}", "metric");
    for (const auto& r : results) header += fmt::format("{:>16}", r["variant"].get<std::string>());
    std::cout << header << "\n" << std::string(header.size(), '-') << "\n";
    for (const auto& [label, key] : rows) {
      std::string line = fmt::format("{:<28}", label);
      for (const auto& r : results) line += fmt::format("{:>16}", cell(r["metrics"], key.first, key.second));
      std::cout << line << "\n";
    }
    std::string time_line = fmt::format("{:<28}", "training seconds");
    for (const auto& r : results) {
      double seconds = 0;
      for (const auto& s : r["training"]) seconds += s["seconds"].get<double>();
      time_line += fmt::format("{:>16.0f}", seconds);
    }
    std::cout << time_line << "\n";

    if (args->out.empty()) return;
    std::filesystem::create_directories(args->out);
    nlohmann::ordered_json combined = nlohmann::ordered_json::array();
    std::vector<LossCurve> curves;
    for (size_t i = 0; i < results.size(); ++i) {
      nlohmann::ordered_json entry{{"variant", results[i]["variant"]}, {"run", args->runs[i]}};
      for (const auto& [label, key] : rows) {
        const auto& m = results[i]["metrics"];
        if (m.contains(key.first) && m[key.first].contains(key.second)) entry[label] = m[key.first][key.second];
      }
      combined.push_back(entry);
      curves.push_back(run_loss_curve(args->runs[i], results[i]));
    }
    std::ofstream(args->out + "/results.json") << combined.dump(2) << "\n";
    write_loss_figure(args->out + "/loss_curve.png", "training loss, all stages", curves);
    for (const auto& run : args->runs) {
      if (std::filesystem::exists(run + "/mixing_ratios.png")) {
        std::filesystem::copy_file(run + "/mixing_ratios.png", args->out + "/mixing_ratios.png",
                                   std::filesystem::copy_options::overwrite_existing);
        break;
      }
    }
    spdlog::info("wrote {0}/results.json, {0}/loss_curve.png, {0}/mixing_ratios.png", args->out);
  });
}

}  // namespace trol::cli
