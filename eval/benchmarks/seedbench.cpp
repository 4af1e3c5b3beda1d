#include "eval/benchmarks/seedbench.h"

#include <filesystem>

#include "eval/benchmarks/multiple_choice.h"
#include "eval/benchmark_files.h"

namespace trol::bench {
namespace fs = std::filesystem;

namespace {

// TroL: answer[0] == gt.
std::string first_character(const std::string& answer, const ChoiceQuestion&) {
  return answer.empty() ? "" : answer.substr(0, 1);
}

// SEED-Bench.json's image questions, grouped under "category" by their dimension's name.
std::vector<ChoiceQuestion> read_seed_json(const std::string& file) {
  const auto data = read_json_file(file);
  if (!data.is_object() || !data.contains("questions") || !data["questions"].is_array()) {
    throw BenchmarkFileError(file, {file + ": expected an object with a \"questions\" list (SEED-Bench.json)"});
  }
  std::map<int64_t, std::string> dimension;  // question_type_id -> name
  if (data.contains("question_type") && data["question_type"].is_object()) {
    for (const auto& [name, id] : data["question_type"].items()) {
      if (id.is_number_integer()) dimension[id.get<int64_t>()] = name;
    }
  }
  std::vector<std::string> problems;
  std::vector<ChoiceQuestion> questions;
  std::map<std::string, size_t> seen;
  const auto& list = data["questions"];
  for (size_t i = 0; i < list.size(); ++i) {
    const auto& x = list[i];
    const auto where = file + ": questions[" + std::to_string(i) + "]: ";
    if (!x.is_object() || x.value("data_type", "") != "image") continue;
    ChoiceQuestion q;
    const auto id = x.find("question_id");
    if (id != x.end() && id->is_string()) q.id = id->get<std::string>();
    else if (id != x.end() && id->is_number_integer()) q.id = id->dump();
    const auto type = x.find("question_type_id");
    const char* fields[] = {"choice_a", "choice_b", "choice_c", "choice_d"};
    for (int k = 0; k < 4; ++k) {
      if (x.contains(fields[k]) && x[fields[k]].is_string()) {
        q.choices.push_back({static_cast<char>('A' + k), x[fields[k]].get<std::string>()});
      }
    }
    q.answer = x.value("answer", "");
    for (auto [key, to] : {std::pair{"question", &q.question}, std::pair{"data_id", &q.image}}) {
      if (x.contains(key) && x[key].is_string()) *to = x[key].get<std::string>();
    }
    if (q.id.empty()) {
      problems.push_back(where + "no question_id");
    } else if (!seen.emplace(q.id, i).second) {
      problems.push_back(where + "question_id " + q.id + " repeats questions[" + std::to_string(seen[q.id]) + "]");
    } else if (type == x.end() || !type->is_number_integer()) {
      problems.push_back(where + "no integer question_type_id");
    } else if (q.choices.size() != 4) {
      problems.push_back(where + "needs string choice_a .. choice_d");
    } else if (q.answer.size() != 1 || q.answer[0] < 'A' || q.answer[0] > 'D') {
      problems.push_back(where + "answer \"" + q.answer + "\" is not A, B, C or D");
    } else {
      const auto t = type->get<int64_t>();
      q.groups["category"] = dimension.count(t) ? dimension[t] : std::to_string(t);
      questions.push_back(std::move(q));
    }
  }
  if (!problems.empty()) throw BenchmarkFileError(file, problems);
  return questions;
}

}  // namespace

std::vector<ChoiceQuestion> read_seedbench_questions(const std::string& file, bool keep_text) {
  if (fs::path(file).extension() == ".json") return read_seed_json(file);
  return read_choice_tsv(file, {"index", "", {"category"}, false, keep_text});
}

ScoreReport score_seedbench(const ScoreRequest& request) {
  const std::vector<std::string> groups{"category"};
  const auto questions = read_seedbench_questions(request.data);
  return score_choice_questions("seedbench", request, questions, groups, first_character,
                                "the answer's first character against the letter (TroL eval/create_evaluator.py evaluate_seed)");
}

}  // namespace trol::bench
