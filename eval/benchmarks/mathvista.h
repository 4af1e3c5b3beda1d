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
// A response without an extraction (or with one that is blank after Python's .strip()) goes
// through the rules extract_answer.py applies before asking GPT (with --quick_extract): an
// empty response -> ""; a multi-choice response that is one of the choices; an integer answer
// that Python's int() reads -> str(int(response)); a float answer that float() reads ->
// str(float(response)); 'The answer is "X".' -> X. int() and float() are Python's: surrounding
// Unicode whitespace, Unicode decimal digits ("３" -> "3", "٣" -> "3"), '_' between digits
// ("1_000"), float's "1e3", "inf", "nan". Anything else needs GPT-4 extraction, which
// `trol score` never fakes: it is scored wrong and counted as unparsable; `--export FILE`
// writes the output JSON that extract_answer.py takes, so the official pipeline can finish
// the job.
//
// Official scoring (calculate_score.py normalize_extracted_answer + safe_equal):
//   multi_choice: the extraction .strip()ped; "(X)" in it -> letter X; a letter of the
//     choices -> that choice; else the choice at the smallest Levenshtein distance (the first
//     of equals), so an empty extraction takes the shortest choice, which can be right.
//   integer: str(int(float(extraction))) (truncates: "3.7" -> "3"; "inf", "nan" -> None).
//   float: str(round(float(extraction), precision)) (Python's float repr: "2.0", "1.25").
//   list and text: the extraction as it is. Correct when equal to the answer string.
// A normalization that gives None is wrong and counted unparsable.
//
// Where trol differs from the official pipeline, deliberately and said in the notes: a
// problem of --data without a response is wrong and stays in the denominator
// (calculate_score.py divides by the problems in its output file); responses only GPT could
// extract are wrong (see above).
//
// --scoring trol: TroL's eval/mathvista/ holds the same extract_answer.py and
// calculate_score.py (an older copy: no --ignore_empty_extractions, whose default is off in
// MathVista's anyway), so both scorings give the same numbers.
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
