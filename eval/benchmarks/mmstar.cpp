#include "eval/benchmarks/mmstar.h"

#include <cctype>

#include "eval/benchmarks/multiple_choice.h"

namespace trol::bench {

namespace {

// MMStar's eval_mmstar as TroL runs it: the character it compares with the answer letter.
std::string mmstar_script_letter(const std::string& answer, const ChoiceQuestion&) {
  std::string p = lowercase(strip(answer));
  for (char& c : p) {
    if (c == '\n') c = ' ';
  }
  size_t at = 0;
  if (!p.empty() && p[0] == '(') at = 1;
  else if (p.rfind("option ", 0) == 0) at = 7;
  else if (p.rfind("the answer is ", 0) == 0) at = 14;
  if (at >= p.size()) return "";
  return std::string(1, static_cast<char>(std::toupper(static_cast<unsigned char>(p[at]))));
}

}  // namespace

ScoreReport score_mmstar(const ScoreRequest& request) {
  const std::vector<std::string> groups{"category", "l2-category"};
  const auto questions = read_choice_tsv(request.data, {"index", "", groups, false});
  return score_choice_questions("mmstar", request, questions, groups, mmstar_script_letter,
                                "MMStar's eval_mmstar (TroL eval/utils.py): the first character, or the one after '(', 'option ' or 'the answer is '");
}

}  // namespace trol::bench
