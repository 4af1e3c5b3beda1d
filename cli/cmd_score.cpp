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
#include "eval/benchmarks/registry.h"
#include "eval/score_output.h"

namespace trol::cli {

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
    const auto score = score_predictions(args->benchmark, request, args->questions);
    std::cout << score_text(score);
    if (!args->out.empty()) {
      const auto parent = std::filesystem::path(args->out).parent_path();
      if (!parent.empty()) std::filesystem::create_directories(parent);
      std::ofstream(args->out) << score_json(score).dump(2) << "\n";
      spdlog::info("score: wrote {}", args->out);
    }
  });
}

}  // namespace trol::cli
