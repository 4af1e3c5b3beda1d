#include "eval/benchmarks/pope.h"

#include <filesystem>
#include <stdexcept>

#include "eval/benchmark_files.h"
#include "eval/yes_no_metrics.h"

namespace trol::bench {
namespace fs = std::filesystem;

namespace {

struct PopeQuestion {
  std::string split, id;
  bool label_yes = false;
};

}  // namespace

std::string pope_split_of(const fs::path& file) {
  const auto stem = file.stem().string();
  const auto at = stem.find("pope_");
  return at == std::string::npos ? stem : stem.substr(at + 5);
}

std::vector<fs::path> pope_question_files(const std::string& data) {
  if (fs::is_regular_file(data)) return {data};
  if (!fs::is_directory(data)) {
    throw BenchmarkFileError(data, {data + ": no such file or folder (POPE question files expected)"});
  }
  std::vector<fs::path> files;
  for (const char* split : {"random", "popular", "adversarial"}) {
    for (const char* extension : {".json", ".jsonl"}) {
      const auto file = fs::path(data) / (std::string("coco_pope_") + split + extension);
      if (fs::is_regular_file(file)) {
        files.push_back(file);
        break;
      }
    }
  }
  if (files.empty()) {
    throw BenchmarkFileError(data, {data + ": holds none of coco_pope_{random,popular,adversarial}.json"});
  }
  return files;
}

namespace {

// POPE question files reuse the prediction reader's strictness: each line an object with
// question_id and label (yes/no, any case).
std::vector<PopeQuestion> read_questions(const fs::path& file) {
  const auto records = read_prediction_jsonl(file.string(), {"label"});
  std::vector<std::string> problems;
  std::vector<PopeQuestion> questions;
  std::map<std::string, int64_t> seen;
  for (const auto& record : records) {
    const auto label = lowercase(record.text);
    const auto where = file.string() + ":" + std::to_string(record.line) + ": ";
    if (label != "yes" && label != "no") problems.push_back(where + "label must be yes or no, got \"" + record.text + "\"");
    if (!seen.emplace(record.id, record.line).second) {
      problems.push_back(where + "question_id " + record.id + " repeats line " + std::to_string(seen[record.id]));
    }
    questions.push_back({pope_split_of(file), record.id, label == "yes"});
  }
  if (!problems.empty()) throw BenchmarkFileError(file.string(), problems);
  return questions;
}

}  // namespace

bool pope_reads_yes(const std::string& answer, Scoring scoring) {
  return pope_answer_is_yes(scoring == Scoring::Trol ? lowercase(answer) : answer);
}

ScoreReport score_pope(const ScoreRequest& request) {
  ScoreReport report;
  report.benchmark = "pope";
  report.scoring = request.scoring;

  std::vector<PopeQuestion> questions;
  std::vector<std::string> splits;
  for (const auto& file : pope_question_files(request.data)) {
    auto part = read_questions(file);
    splits.push_back(pope_split_of(file));
    questions.insert(questions.end(), part.begin(), part.end());
  }
  keep_asked(questions, request, [](const PopeQuestion& q) { return q.split + "/" + q.id; });
  report.counts.items = static_cast<int64_t>(questions.size());

  // Which splits each id is in, to place predictions without "category".
  std::map<std::string, int> known;
  std::map<std::string, std::vector<std::string>> splits_of_id;
  for (const auto& q : questions) {
    known[q.split + "/" + q.id] = 1;
    splits_of_id[q.id].push_back(q.split);
  }
  const auto records = read_prediction_jsonl(request.predictions, {"text", "answer"});
  std::vector<std::string> keys, problems;
  for (const auto& record : records) {
    std::string split;
    const auto category = record.object.find("category");
    if (category != record.object.end() && category->is_string()) {
      split = category->get<std::string>();
    } else if (const auto it = splits_of_id.find(record.id); it != splits_of_id.end() && it->second.size() > 1) {
      problems.push_back(request.predictions + ":" + std::to_string(record.line) + ": question_id " + record.id +
                         " is in several splits; give the split as \"category\"");
    } else if (it != splits_of_id.end()) {
      split = it->second.front();
    }
    keys.push_back(split + "/" + record.id);
  }
  if (!problems.empty()) throw BenchmarkFileError(request.predictions, problems);
  const auto predictions = index_predictions(records, keys, known, report.counts, report.notes);

  double accuracy_sum = 0, f1_sum = 0;
  for (const auto& split : splits) {
    int64_t tp = 0, fp = 0, tn = 0, fn = 0, total = 0, missing = 0;
    for (const auto& q : questions) {
      if (q.split != split) continue;
      ++total;
      const auto it = predictions.find(split + "/" + q.id);
      if (it == predictions.end()) {
        ++missing;
        continue;
      }
      const bool yes = pope_reads_yes(it->second->text, request.scoring);
      if (yes && q.label_yes) ++tp;
      else if (yes) ++fp;
      else if (q.label_yes) ++fn;
      else ++tn;
    }
    report.counts.missing += missing;
    const auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
    const double answered = static_cast<double>(tp + fp + tn + fn);
    const double precision = ratio(tp, tp + fp), recall = ratio(tp, tp + fn);
    nlohmann::ordered_json m;
    m["accuracy"] = ratio(tp + tn, total);
    m["precision"] = precision;
    m["recall"] = recall;
    m["f1"] = ratio(2 * precision * recall, precision + recall);
    m["yes_ratio"] = ratio(tp + fp, answered);
    m["questions"] = total;
    m["missing"] = missing;
    m["confusion"] = {{"tp", tp}, {"fp", fp}, {"tn", tn}, {"fn", fn}};
    accuracy_sum += m["accuracy"].get<double>();
    f1_sum += m["f1"].get<double>();
    report.metrics[split] = m;
  }
  if (splits.size() > 1) {
    report.metrics["average"] = {{"accuracy", accuracy_sum / static_cast<double>(splits.size())},
                                 {"f1", f1_sum / static_cast<double>(splits.size())}};
  }
  if (report.counts.missing > 0) {
    report.notes.push_back("missing predictions count as wrong in accuracy; precision, recall, f1 and yes_ratio are over "
                           "the answered questions");
  }
  if (request.scoring == Scoring::Trol) {
    report.notes.push_back("trol scoring: answers are lowercased before POPE's yes/no rule (TroL eval/utils.py eval_pope)");
  }
  return report;
}

}  // namespace trol::bench
