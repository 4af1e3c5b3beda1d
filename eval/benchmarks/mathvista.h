// MathVista (Lu et al., ICLR 2024), testmini: rule-based scoring of extracted answers.
//
// Data (--data): MathVista's data/testmini.json: {pid: {"question_type": "multi_choice" |
// "free_form", "answer_type": "text" | "integer" | "float" | "list", "choices": [...] | null,
// "precision": <digits> | null, "answer": "...", "query", ...}}.
//
// Predictions, either
//   - MathVista's own output JSON {pid: {"response", "extraction"?, ...}} (what its
//     extract_answer.py writes); an "extraction" is used as it is; or
//   - JSON lines {"question_id": pid, "text"} (the response).
// A response without an extraction goes through the rules extract_answer.py applies before
// asking GPT (with --quick_extract): a multi-choice response that is one of the choices; an
// integer answer that Python's int() reads; a float answer that float() reads; 'The answer
// is "X".' -> X. Anything else needs GPT-4 extraction, which `trol score` never fakes: it is
// scored wrong and counted as unparsable; `--export FILE` writes the output JSON that
// extract_answer.py takes, so the official pipeline can finish the job.
//
// Official scoring (calculate_score.py normalize_extracted_answer + safe_equal):
//   multi_choice: "(X)" in the extraction -> letter X; a letter of the choices -> that choice;
//     else the choice at the smallest Levenshtein distance; equal to the answer text.
//   integer: str(int(float(extraction))) (truncates: "3.7" -> "3").
//   float: str(round(float(extraction), precision)) (Python's float repr: "2.0", "1.25").
//   list and text: the extraction as it is. Correct when equal to the answer string.
// An empty extraction is wrong here (the official nearest-choice rule would pick the
// shortest choice for it).
//
// --scoring trol: TroL's eval/mathvista/ holds the same extract_answer.py and
// calculate_score.py, so both scorings give the same numbers.
#pragma once

#include <string>
#include <vector>

#include "eval/benchmarks/score_common.h"

namespace trol::bench {

struct MathVistaProblem {
  std::string question_type, answer_type, answer;
  std::vector<std::string> choices;
  bool has_precision = false;
  int precision = 0;
};

// The rule-based extraction; false when only GPT could extract the answer.
bool mathvista_rule_extract(const std::string& response, const MathVistaProblem& problem, std::string& extraction);

// normalize_extracted_answer; false where the official gives None (never equal).
bool mathvista_normalize(const std::string& extraction, const MathVistaProblem& problem, std::string& prediction);

ScoreReport score_mathvista(const ScoreRequest& request);

}  // namespace trol::bench
