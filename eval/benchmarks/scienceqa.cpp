#include "eval/benchmarks/scienceqa.h"

#include <filesystem>

#include "eval/benchmark_files.h"

namespace trol::bench {
namespace fs = std::filesystem;

namespace {

bool is_option(char c) { return c >= 'A' && c <= 'E'; }

// re.findall(r'The answer is ([A-Z]).', text): non-overlapping, so count every match.
std::vector<char> answer_is_matches(const std::string& text) {
  static const std::string phrase = "The answer is ";
  std::vector<char> letters;
  size_t at = 0;
  while ((at = text.find(phrase, at)) != std::string::npos) {
    const size_t letter = at + phrase.size();
    // '.' matches any character but a newline.
    if (letter + 1 < text.size() && text[letter] >= 'A' && text[letter] <= 'Z' && text[letter + 1] != '\n') {
      letters.push_back(text[letter]);
      at = letter + 2;
    } else {
      ++at;
    }
  }
  return letters;
}

}  // namespace

std::string scienceqa_letter(const std::string& answer, Scoring scoring) {
  if (answer.size() == 1 && is_option(answer[0])) return answer;
  if (scoring == Scoring::Official) {
    if (answer.size() >= 3 && is_option(answer[0]) && answer.compare(1, 2, ". ") == 0) return answer.substr(0, 1);
  } else {
    if (answer.size() >= 2 && is_option(answer[0]) && answer.find('.') != std::string::npos) return answer.substr(0, 1);
  }
  const auto matches = answer_is_matches(answer);
  return matches.size() == 1 ? std::string(1, matches[0]) : "";
}

ScoreReport score_scienceqa(const ScoreRequest& request) {
  ScoreReport report;
  report.benchmark = "scienceqa";
  report.scoring = request.scoring;
  const auto problems_file = (fs::path(request.data) / "problems.json").string();
  const auto splits_file = (fs::path(request.data) / "pid_splits.json").string();
  const auto problems = read_json_file(problems_file);
  const auto splits = read_json_file(splits_file);
  if (!splits.is_object() || !splits.contains("test") || !splits["test"].is_array()) {
    throw BenchmarkFileError(splits_file, {splits_file + ": no \"test\" list of pids"});
  }
  struct Question {
    std::string pid;
    int64_t answer = 0, choices = 0;
  };
  std::vector<Question> questions;
  std::vector<std::string> bad;
  std::map<std::string, int> known;
  for (const auto& pid_json : splits["test"]) {
    const auto pid = pid_json.is_string() ? pid_json.get<std::string>() : pid_json.dump();
    if (!problems.contains(pid)) {
      bad.push_back(problems_file + ": test pid " + pid + " is not in problems.json");
      continue;
    }
    const auto& p = problems[pid];
    if (!p.contains("image") || p["image"].is_null()) continue;  // IMG: questions with an image
    if (!p.contains("choices") || !p["choices"].is_array() || !p.contains("answer") || !p["answer"].is_number_integer()) {
      bad.push_back(problems_file + ": problem " + pid + " lacks choices or an integer answer");
      continue;
    }
    questions.push_back({pid, p["answer"].get<int64_t>(), static_cast<int64_t>(p["choices"].size())});
  }
  if (!bad.empty()) throw BenchmarkFileError(problems_file, bad);
  keep_asked(questions, request, [](const Question& q) { return q.pid; });
  for (const auto& q : questions) known[q.pid] = 1;
  report.counts.items = static_cast<int64_t>(questions.size());
  const auto records = read_prediction_jsonl(request.predictions);
  const auto predictions = index_predictions_by_id(records, known, report.counts, report.notes);
  int64_t correct = 0;
  for (const auto& q : questions) {
    const auto it = predictions.find(q.pid);
    if (it == predictions.end()) {
      ++report.counts.missing;
      continue;
    }
    const auto letter = scienceqa_letter(it->second->text, request.scoring);
    const int64_t index = letter.empty() ? -1 : letter[0] - 'A';
    if (index < 0 || index >= std::min<int64_t>(q.choices, 5)) {
      ++report.counts.unparsable;
      continue;
    }
    correct += index == q.answer;
  }
  report.metrics["accuracy"] = questions.empty() ? 0.0 : static_cast<double>(correct) / static_cast<double>(questions.size());
  report.metrics["questions"] = questions.size();
  if (request.scoring == Scoring::Official && report.counts.unparsable > 0) {
    report.notes.push_back(std::to_string(report.counts.unparsable) + " unparsable answer(s) are wrong, as in LLaVA's "
                           "eval_science_qa.py since its v1.5 scripts (its first release picked a random choice)");
  }
  if (report.counts.missing > 0) {
    // Deliberate: a partial predictions file must not score higher than a complete one.
    report.notes.push_back(std::to_string(report.counts.missing) + " image question(s) without an answer are wrong over "
                           "all " + std::to_string(questions.size()) + "; eval_science_qa.py's IMG-Accuracy leaves them out "
                           "(their prompt is unknown, so not multimodal) and divides by " +
                           std::to_string(static_cast<int64_t>(questions.size()) - report.counts.missing));
  }
  if (report.counts.duplicates > 0) {
    report.notes.push_back("eval_science_qa.py would score the last of each duplicated id; trol scores the first");
  }
  if (request.scoring == Scoring::Trol) {
    report.notes.push_back("trol scoring: TroL eval/utils.py convert_to_choice (first letter when the answer has a '.')");
  }
  return report;
}

}  // namespace trol::bench
