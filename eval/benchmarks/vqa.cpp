#include "eval/benchmarks/vqa.h"

#include "eval/answer_scoring.h"
#include "eval/benchmark_files.h"

namespace trol::bench {

std::vector<VqaQuestion> read_vqa_questions(const std::string& file) {
  std::vector<std::string> problems;
  std::map<std::string, int64_t> first_line;
  std::vector<VqaQuestion> questions;
  for (const auto& record : read_prediction_jsonl(file, {"answer"})) {
    const auto where = file + ":" + std::to_string(record.line) + ": ";
    VqaQuestion q{record.line, record.id, "", "", record.text, ""};
    for (auto [name, value] : {std::pair<const char*, std::string*>{"image", &q.image}, {"text", &q.text}, {"category", &q.category}}) {
      const auto it = record.object.find(name);
      if (it == record.object.end() || !it->is_string() || it->get<std::string>().empty()) {
        problems.push_back(where + "field '" + name + "' must be a non-empty string");
      } else {
        *value = it->get<std::string>();
      }
    }
    if (q.answer.empty()) problems.push_back(where + "field 'answer' is empty");
    if (const auto [it, fresh] = first_line.emplace(q.id, record.line); !fresh) {
      problems.push_back(where + "question_id " + q.id + " repeats line " + std::to_string(it->second));
    }
    questions.push_back(std::move(q));
  }
  if (!problems.empty()) throw BenchmarkFileError(file, problems);
  return questions;
}

ScoreReport score_vqa(const ScoreRequest& request) {
  ScoreReport report;
  report.benchmark = "vqa";
  report.scoring = request.scoring;
  auto questions = read_vqa_questions(request.data);
  keep_asked(questions, request, [](const VqaQuestion& q) { return q.id; });
  report.counts.items = static_cast<int64_t>(questions.size());
  std::map<std::string, int> known;
  for (const auto& q : questions) known[q.id] = 1;
  const auto records = read_prediction_jsonl(request.predictions);
  const auto predictions = index_predictions_by_id(records, known, report.counts, report.notes);

  std::map<std::string, std::pair<int64_t, int64_t>> by_category;  // category -> (correct, questions)
  int64_t correct = 0;
  for (const auto& q : questions) {
    auto& category = by_category[q.category];
    ++category.second;
    const auto it = predictions.find(q.id);
    if (it == predictions.end()) {
      ++report.counts.missing;
      continue;
    }
    if (vqa_match(it->second->text, q.answer)) {
      ++correct;
      ++category.first;
    }
  }
  const auto ratio = [](int64_t a, int64_t b) { return b > 0 ? static_cast<double>(a) / static_cast<double>(b) : 0.0; };
  report.metrics["accuracy"] = ratio(correct, static_cast<int64_t>(questions.size()));
  report.metrics["questions"] = questions.size();
  for (const auto& [name, counts] : by_category) {
    report.metrics["category"][name] = {{"accuracy", ratio(counts.first, counts.second)}, {"questions", counts.second}};
  }
  if (request.scoring == Scoring::Trol) report.notes.push_back("trol scoring: the same rule (the authors have no such split)");
  return report;
}

}  // namespace trol::bench
