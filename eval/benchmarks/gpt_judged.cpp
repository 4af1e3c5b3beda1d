#include "eval/benchmarks/gpt_judged.h"

#include <fstream>
#include <stdexcept>

namespace trol::bench {

ScoreReport convert_gpt_judged(const std::string& benchmark, const ScoreRequest& request) {
  const std::string judge = benchmark == "mm-vet" ? "MM-Vet's GPT-4 grader (mm-vet_evaluator.py)"
                                                  : "LLaVA's GPT-4 review (eval_gpt_review_bench.py)";
  if (request.export_path.empty()) {
    throw std::runtime_error(benchmark + " is scored by " + judge +
                             ", which needs an external service: trol does not make up that score. Pass --export FILE "
                             "to write the predictions in the format that tool reads");
  }
  ScoreReport report;
  report.benchmark = benchmark;
  report.scoring = request.scoring;
  const auto records = read_prediction_jsonl(request.predictions);
  std::map<std::string, int> known;
  std::vector<std::string> keys;
  for (const auto& record : records) {
    keys.push_back(record.id);
    known[record.id] = 1;
  }
  const auto predictions = index_predictions(records, keys, known, report.counts, report.notes);
  report.counts.items = static_cast<int64_t>(predictions.size());
  std::ofstream out(request.export_path);
  if (!out) throw std::runtime_error("cannot write " + request.export_path);
  if (benchmark == "mm-vet") {
    nlohmann::ordered_json results = nlohmann::ordered_json::object();
    for (const auto& [id, record] : predictions) {
      results[id.rfind("v1_", 0) == 0 ? id : "v1_" + id] = record->text;
    }
    out << results.dump(2) << "\n";
  } else {
    // Integer ids in numeric order, as the question file lists them.
    std::vector<const PredictionRecord*> ordered;
    for (const auto& [id, record] : predictions) ordered.push_back(record);
    std::stable_sort(ordered.begin(), ordered.end(), [](const auto* a, const auto* b) {
      const bool a_number = a->object["question_id"].is_number_integer(), b_number = b->object["question_id"].is_number_integer();
      if (a_number && b_number) return a->object["question_id"].template get<int64_t>() < b->object["question_id"].template get<int64_t>();
      return a_number > b_number;
    });
    for (const auto* record : ordered) {
      nlohmann::ordered_json line;
      line["question_id"] = record->object["question_id"];
      if (record->object.contains("prompt")) line["prompt"] = record->object["prompt"];
      line["text"] = record->text;
      out << line.dump() << "\n";
    }
  }
  report.notes.push_back("no score: " + benchmark + " is judged by " + judge + "; wrote " + request.export_path +
                         " in the format it reads");
  return report;
}

}  // namespace trol::bench
