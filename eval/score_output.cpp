#include "eval/score_output.h"

#include <fmt/format.h>

#include <stdexcept>

#include "eval/benchmarks/registry.h"

namespace trol {

namespace {

// Nested metrics as "a.b.c value" lines.
void append_metrics(std::string& text, const nlohmann::ordered_json& value, const std::string& prefix) {
  if (value.is_object()) {
    for (const auto& [key, item] : value.items()) append_metrics(text, item, prefix.empty() ? key : prefix + "." + key);
  } else if (value.is_number_float()) {
    text += fmt::format("{:<44} {:.4f}\n", prefix, value.get<double>());
  } else {
    text += fmt::format("{:<44} {}\n", prefix, value.dump());
  }
}

}  // namespace

bench::LlavaScore score_predictions(const std::string& benchmark, const bench::ScoreRequest& request,
                                    const std::string& llava_questions) {
  if (llava_questions.empty()) return {bench::score_benchmark(benchmark, request), "", {}};
  if (request.scoring != bench::Scoring::Official) {
    throw std::invalid_argument("LLaVA's scripts have one rule: --questions takes no --scoring " +
                                bench::scoring_name(request.scoring));
  }
  return bench::score_llava_answers(benchmark, request, llava_questions);
}

nlohmann::ordered_json score_json(const bench::LlavaScore& score) {
  auto json = score.report.to_json();
  if (!score.script.empty()) json["llava"] = {{"script", score.script}, {"printed", score.printed}};
  return json;
}

std::string score_text(const bench::LlavaScore& score) {
  const auto json = score.report.to_json();
  const auto scoring =
      score.script.empty() ? bench::scoring_name(score.report.scoring) + " scoring" : "LLaVA's " + score.script;
  std::string text = "benchmark " + score.report.benchmark + " (" + scoring + ")\n";
  append_metrics(text, json["metrics"], "");
  append_metrics(text, json["counts"], "counts");
  for (const auto& note : score.report.notes) text += "note: " + note + "\n";
  if (!score.script.empty()) {
    text += "LLaVA's " + score.script + " prints:\n";
    for (const auto& line : score.printed) text += line + "\n";
  }
  return text;
}

}  // namespace trol
