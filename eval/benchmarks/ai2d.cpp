#include "eval/benchmarks/ai2d.h"

#include "eval/benchmarks/multiple_choice.h"

namespace trol::bench {

namespace {

// TroL: re.compile(r'[A-Z]').findall(answer)[0].
std::string first_capital(const std::string& answer, const ChoiceQuestion&) {
  for (char c : answer) {
    if (c >= 'A' && c <= 'Z') return std::string(1, c);
  }
  return "";
}

}  // namespace

ScoreReport score_ai2d(const ScoreRequest& request) {
  const std::vector<std::string> groups{"category", "l2-category"};
  const auto questions = read_choice_tsv(request.data, {"index", "", groups, false});
  return score_choice_questions("ai2d", request, questions, groups, first_capital,
                                "the first capital letter anywhere in the answer (TroL eval/create_evaluator.py evaluate_ai2d)");
}

}  // namespace trol::bench
