#include "eval/benchmarks/chartqa.h"

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "eval/benchmark_files.h"

namespace trol::bench {
namespace fs = std::filesystem;

namespace {

// pix2struct's _to_float; `percent_divides` is false for the TroL copy.
bool to_float(const std::string& text, bool percent_divides, double& value) {
  if (!text.empty() && text.back() == '%') {
    if (!python_float(text.substr(0, text.find_last_not_of('%') + 1), value)) return false;
    if (percent_divides) value /= 100.0;
    return true;
  }
  return python_float(text, value);
}

// relaxed_correctness(target, prediction) as written: the tolerance is relative to `target`.
bool relaxed_correctness(const std::string& target, const std::string& prediction, bool percent_divides) {
  double p = 0, t = 0;
  const bool p_number = to_float(prediction, percent_divides, p);
  const bool t_number = to_float(target, percent_divides, t);
  if (p_number && t_number && t != 0) return std::fabs(p - t) / std::fabs(t) <= 0.05;
  return python_lower(prediction) == python_lower(target);
}

}  // namespace

std::string chartqa_split_of(const fs::path& file) {
  auto stem = file.stem().string();
  return stem.rfind("test_", 0) == 0 ? stem.substr(5) : stem;
}

std::vector<fs::path> chartqa_question_files(const std::string& data) {
  std::vector<fs::path> files;
  if (fs::is_directory(data)) {
    for (const char* name : {"test_human.json", "test_augmented.json"}) {
      if (fs::is_regular_file(fs::path(data) / name)) files.push_back(fs::path(data) / name);
    }
    if (files.empty()) throw BenchmarkFileError(data, {data + ": holds neither test_human.json nor test_augmented.json"});
  } else {
    files.push_back(data);
  }
  return files;
}

bool chartqa_correct(const std::string& prediction, const std::string& label, Scoring scoring) {
  // Official: the prediction as written; float() forgives surrounding whitespace, the text
  // comparison does not ("Chad " is not "Chad").
  if (scoring == Scoring::Official) return relaxed_correctness(label, prediction, /*percent_divides=*/true);
  std::string answer = prediction;
  if (answer.find_first_of("0123456789") != std::string::npos) answer = answer.substr(0, answer.find(' '));
  return relaxed_correctness(python_strip(answer), label, /*percent_divides=*/false);
}

ScoreReport score_chartqa(const ScoreRequest& request) {
  ScoreReport report;
  report.benchmark = "chartqa";
  report.scoring = request.scoring;
  const auto files = chartqa_question_files(request.data);
  struct Question {
    std::string split, id, label;
  };
  std::vector<Question> questions;
  std::vector<std::string> splits;
  std::map<std::string, int> known;
  for (const auto& file : files) {
    const auto list = read_json_file(file.string());
    if (!list.is_array()) throw BenchmarkFileError(file.string(), {file.string() + ": expected a JSON list of questions"});
    std::vector<std::string> problems;
    for (size_t i = 0; i < list.size(); ++i) {
      const auto& q = list[i];
      const auto label = q.is_object() ? q.find("label") : q.end();
      if (!q.is_object() || label == q.end() || !(label->is_string() || label->is_number())) {
        problems.push_back(file.string() + ": question " + std::to_string(i) + " has no \"label\" (string or number)");
        continue;
      }
      const auto id = chartqa_split_of(file) + "/" + std::to_string(i);
      questions.push_back({chartqa_split_of(file), id, label->is_string() ? label->get<std::string>() : label->dump()});
    }
    if (!problems.empty()) throw BenchmarkFileError(file.string(), problems);
    splits.push_back(chartqa_split_of(file));
  }
  keep_asked(questions, request, [](const Question& q) { return q.id; });
  for (const auto& q : questions) known[q.id] = 1;
  report.counts.items = static_cast<int64_t>(questions.size());
  const auto records = read_prediction_jsonl(request.predictions);
  const auto predictions = index_predictions_by_id(records, known, report.counts, report.notes);

  double sum = 0;
  int64_t padded = 0, right_if_stripped = 0;  // official: answers with surrounding whitespace
  for (const auto& split : splits) {
    int64_t correct = 0, total = 0;
    for (const auto& q : questions) {
      if (q.split != split) continue;
      ++total;
      const auto it = predictions.find(q.id);
      if (it == predictions.end()) {
        ++report.counts.missing;
        continue;
      }
      const auto& text = it->second->text;
      const bool right = chartqa_correct(text, q.label, request.scoring);
      correct += right;
      if (request.scoring == Scoring::Official && python_strip(text) != text) {
        ++padded;
        right_if_stripped += !right && chartqa_correct(python_strip(text), q.label, request.scoring);
      }
    }
    const double accuracy = total > 0 ? static_cast<double>(correct) / static_cast<double>(total) : 0.0;
    report.metrics[split] = {{"relaxed_accuracy", accuracy}, {"correct", correct}, {"questions", total}};
    sum += accuracy;
  }
  report.metrics["relaxed_accuracy"] = sum / static_cast<double>(splits.size());
  if (report.counts.missing > 0) {
    report.notes.push_back(std::to_string(report.counts.missing) + " question(s) without an answer are scored wrong over "
                           "all questions of their split; the official relaxed accuracy is computed over the answers it "
                           "is given, so a partial file scores higher there");
  }
  if (padded > 0) {
    report.notes.push_back(std::to_string(padded) + " answer(s) with surrounding whitespace are compared as written, as "
                           "the official relaxed_correctness does (\"Chad \" is not \"Chad\"; numbers are read by float(), "
                           "which ignores it): " + std::to_string(right_if_stripped) + " of them would be right stripped");
  }
  if (request.scoring == Scoring::Trol) {
    report.notes.push_back("trol scoring: answers with a digit cut to their first word, '%' not divided by 100, "
                           "tolerance relative to the prediction (TroL eval/utils.py relaxed_correctness, called swapped)");
  }
  return report;
}

}  // namespace trol::bench
