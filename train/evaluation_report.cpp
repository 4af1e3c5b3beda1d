#include "train/evaluation_report.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "eval/evaluator.h"
#include "eval/paper_comparison.h"
#include "eval/plots.h"
#include "train/checkpoint.h"
#include "train/distributed/launched_run.h"
#include "train/periodic_eval.h"
#include "train/runtime.h"
#include "trol/config_reader.h"

namespace trol {

void evaluate_and_report(TrolModel& model, const RunConfig& config, const std::vector<StageResult>& stages,
                         const std::string& out, const EvalRanks& ranks) {
  const auto& options = config.eval;
  const auto start = std::chrono::steady_clock::now();
  const auto suites = evaluate_suites(model, config.data, options, ranks, out);
  if (ranks.rank != 0) return;
  // Where traversal happens, on the prompts of the first POPE suite (one layout: image run, question).
  std::vector<std::vector<double>> mean_gate;
  for (const auto& suite : evaluation_suites(config.data, options)) {
    if (suite.source.benchmark != "pope") continue;
    mean_gate = mean_mixing_ratios(model, config.data, options, suite);
    break;
  }

  nlohmann::ordered_json results;
  results["variant"] = config.model.trol.traversal ? "TroL" : "traversal off";
  results["config"] = config.source;
  results["suites"] = nlohmann::ordered_json::array();
  results["benchmarks"] = nlohmann::ordered_json::object();
  for (const auto& suite : suites) {
    results["suites"].push_back({{"name", suite.name}, {"benchmark", suite.benchmark}});
    results["benchmarks"][suite.name] = suite.metrics["metrics"];
  }
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
  results["mean_gate"] = mean_gate;
  if (!options.suites.empty()) {  // the public benchmarks beside the paper's numbers
    const std::vector<SuiteResult> public_suites(suites.end() - static_cast<std::ptrdiff_t>(options.suites.size()), suites.end());
    const auto description = config.source + (config.model.trol.traversal ? "" : " (traversal off)");
    std::ofstream(out + "/report.md") << markdown_report(public_suites, options.scoring, description);
    spdlog::info("evaluation: {} public benchmark(s); report in {}/report.md", public_suites.size(), out);
  }
  std::ofstream(out + "/results.json") << results.dump(2) << "\n";
  if (!losses.empty()) write_line_plot(out + "/loss.png", "training loss (" + results["variant"].get<std::string>() + ")",
                  {{results["variant"].get<std::string>(), losses, {}}}, stage_starts);
  if (!mean_gate.empty()) {
    write_heatmap(out + "/mixing_ratios.png", "mean TroL mixing ratio w per layer and token (POPE prompts)", mean_gate);
  }
  int64_t items = 0;
  for (const auto& suite : suites) items += suite.metrics["generation"].value("items", int64_t{0});
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  spdlog::info("evaluation: {} benchmark(s), {} items in {:.0f}s; results in {}/results.json", suites.size(), items, seconds, out);
}

void evaluate_checkpoint(RunConfig config, const std::string& model_weights, const std::string& out_dir) {
  // Launched as several ranks (torchrun, launch.sh, srun): each generates its share of eval.suites.
  const auto env = read_launched_env(config);
  configure_runtime(config.runtime);
  const auto group = connect_launched_run(env, config);
  std::string weights = model_weights;
  if (std::filesystem::is_directory(weights)) weights += "/model.safetensors";
  if (!std::filesystem::is_regular_file(weights)) {
    throw std::runtime_error("eval: no weights at '" + weights + "' (give model.safetensors or its checkpoint folder)");
  }
  TrolModel model(config.model);
  load_model_weights(weights, *model);
  model->to(parse_device(config.runtime.device), parse_dtype(config.runtime.dtype));
  spdlog::info("eval: weights from {}", weights);
  const auto out = out_dir.empty() ? config.train.output_dir : out_dir;
  std::filesystem::create_directories(out);
  evaluate_and_report(model, config, {}, out, eval_ranks(group.get()));
}

void train_and_evaluate(RunConfig config) {
  if (config.train.stages.empty()) throw ConfigError(config.source + ": train.stages: no stages to run");
  // torchrun / launch.sh / srun: one rank of several (world size 1: no process group at all).
  const auto env = read_launched_env(config);
  spdlog::info("config {} with overrides applied:\n{}", config.source, config.effective_yaml);
  configure_runtime(config.runtime);
  const auto group = connect_launched_run(env, config);
  Trainer trainer(std::move(config), group);
  const auto stages = trainer.train();
  if (trainer.stopped()) return;  // a stop signal: the checkpoint is written, exit 0
  // Every rank generates its share of the public benchmarks; rank 0 runs the rest and writes.
  if (trainer.config().eval.enabled) {
    evaluate_and_report(trainer.model(), trainer.config(), stages, trainer.config().train.output_dir, eval_ranks(group.get()));
  }
}

}  // namespace trol
