#include "train/evaluation_report.h"

#include <spdlog/spdlog.h>

#include <fstream>

#include "eval/evaluator.h"
#include "eval/paper_comparison.h"
#include "eval/plots.h"

namespace trol {

void evaluate_and_report(TrolModel& model, const RunConfig& config, const std::vector<StageResult>& stages,
                         const std::string& out, const EvalRanks& ranks) {
  auto options = config.eval;
  options.output_dir = out;
  const auto suites = evaluate_suites(model, config.data, options, ranks, out);
  if (ranks.rank != 0) return;
  const auto report = options.benchmarks.empty() ? EvalReport{} : evaluate_builtin(model, config.data, options);

  nlohmann::ordered_json results;
  results["variant"] = config.model.trol.traversal ? "TroL" : "traversal off";
  results["config"] = config.source;
  results["metrics"] = report.metrics;
  results["eval_items"] = report.items;
  results["eval_unparsable"] = report.unparsable;
  results["eval_seconds"] = report.seconds;
  nlohmann::ordered_json training = nlohmann::ordered_json::array();
  std::vector<double> losses;
  std::vector<StageStart> stage_starts;
  for (const auto& s : stages) {
    stage_starts.push_back({s.name, static_cast<double>(losses.size() + 1)});
    training.push_back({{"stage", s.name}, {"steps", s.losses.size()}, {"seconds", s.seconds},
                        {"final_loss", s.losses.empty() ? 0.0 : s.losses.back()}, {"losses", s.losses}});
    losses.insert(losses.end(), s.losses.begin(), s.losses.end());
  }
  results["training"] = training;
  results["mean_gate"] = report.mean_gate;
  if (!suites.empty()) {
    for (const auto& suite : suites) results["benchmarks"][suite.name] = suite.metrics["metrics"];
    const auto description = config.source + (config.model.trol.traversal ? "" : " (traversal off)");
    std::ofstream(out + "/report.md") << markdown_report(suites, options.scoring, description);
    spdlog::info("evaluation: {} public benchmark(s); report in {}/report.md", suites.size(), out);
  }
  std::ofstream(out + "/results.json") << results.dump(2) << "\n";
  if (!losses.empty()) write_line_plot(out + "/loss.png", "training loss (" + results["variant"].get<std::string>() + ")",
                  {{results["variant"].get<std::string>(), losses, {}}}, stage_starts);
  if (!report.mean_gate.empty()) {
    write_heatmap(out + "/mixing_ratios.png", "mean TroL mixing ratio w per layer and token (POPE prompts)",
                  report.mean_gate);
  }
  spdlog::info("evaluation: {} items in {:.0f}s; results in {}/results.json", report.items, report.seconds, out);
}

}  // namespace trol
