// trol score --benchmark NAME --data PATH --predictions FILE [--scoring official|trol]
//            [--out metrics.json] [--export FILE] [--questions LLAVA_QUESTION_FILE]
// Scores an existing predictions file by the benchmark's official rules (or the TroL
// authors' variant), independent of any model: prints the metrics and the counts of missing,
// unparsable, duplicate and unknown predictions, and writes them as JSON with --out.
// With --questions, the predictions are LLaVA's answer file to that LLaVA question file, scored
// by LLaVA's own script's rules, whose printed lines follow (eval/benchmarks/llava_answers.h).
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/commands.h"
#include "eval/benchmarks/llava_answers.h"
#include "eval/benchmarks/registry.h"

namespace trol::cli {

namespace {

// Nested metrics as "a.b.c value" lines.
void print_metrics(const nlohmann::ordered_json& value, const std::string& prefix) {
  if (value.is_object()) {
    for (const auto& [key, item] : value.items()) print_metrics(item, prefix.empty() ? key : prefix + "." + key);
  } else if (value.is_number_float()) {
    std::cout << fmt::format("{:<44} {:.4f}\n", prefix, value.get<double>());
  } else {
    std::cout << fmt::format("{:<44} {}\n", prefix, value.dump());
  }
}

}  // namespace

void add_score_command(CLI::App& app) {
  struct Args {
    std::string benchmark, data, predictions, scoring = "official", out, export_path, questions;
  };
  auto args = std::make_shared<Args>();
  std::string names;
  for (const auto& name : bench::benchmark_names()) names += (names.empty() ? "" : ", ") + name;
  auto* cmd = app.add_subcommand("score", "Score a predictions file on a benchmark by its official rules, without a model");
  cmd->add_option("--benchmark", args->benchmark, "benchmark: " + names)->required();
  cmd->add_option("--data", args->data, "the benchmark's files (folder or file; docs/evaluation.md lists each layout)");
  cmd->add_option("--predictions", args->predictions, "answers JSONL {\"question_id\", \"text\"} or the benchmark's own format")
      ->required();
  cmd->add_option("--scoring", args->scoring, "official (default) or trol (the TroL authors' evaluation)")
      ->check(CLI::IsMember({"official", "trol"}));
  cmd->add_option("--out", args->out, "write the metrics JSON here");
  cmd->add_option("--export", args->export_path,
                  "GPT-judged benchmarks (mm-vet, llava-w, mathvista): write the predictions in the official tool's format");
  std::string llava_names;
  for (const auto& name : bench::llava_benchmark_names()) llava_names += (llava_names.empty() ? "" : ", ") + name;
  cmd->add_option("--questions", args->questions,
                  "LLaVA's question file the predictions answer (LLaVA's eval pipeline): score by LLaVA's script (" +
                      llava_names + ")");
  cmd->callback([args] {
    bench::ScoreRequest request;
    request.data = args->data;
    request.predictions = args->predictions;
    request.scoring = bench::parse_scoring(args->scoring);
    request.export_path = args->export_path;
    bench::LlavaScore llava;
    if (!args->questions.empty()) {
      if (args->scoring != "official") throw CLI::ValidationError("--questions", "LLaVA's scripts have one rule; drop --scoring");
      llava = bench::score_llava_answers(args->benchmark, request, args->questions);
    } else {
      llava.report = bench::score_benchmark(args->benchmark, request);
    }
    const auto& report = llava.report;
    auto json = report.to_json();
    if (!llava.script.empty()) json["llava"] = {{"script", llava.script}, {"printed", llava.printed}};
    const auto scoring = llava.script.empty() ? bench::scoring_name(report.scoring) + " scoring" : "LLaVA's " + llava.script;
    std::cout << "benchmark " << report.benchmark << " (" << scoring << ")\n";
    print_metrics(json["metrics"], "");
    print_metrics(json["counts"], "counts");
    for (const auto& note : report.notes) std::cout << "note: " << note << "\n";
    if (!llava.script.empty()) {
      std::cout << "LLaVA's " << llava.script << " prints:\n";
      for (const auto& line : llava.printed) std::cout << line << "\n";
    }
    if (!args->out.empty()) {
      const auto parent = std::filesystem::path(args->out).parent_path();
      if (!parent.empty()) std::filesystem::create_directories(parent);
      std::ofstream(args->out) << json.dump(2) << "\n";
      spdlog::info("score: wrote {}", args->out);
    }
  });
}

}  // namespace trol::cli
