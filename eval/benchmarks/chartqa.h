// ChartQA (Masry et al., ACL Findings 2022), scored by relaxed accuracy.
//
// Data (--data): the release's test folder ("ChartQA Dataset/test/") holding test_human.json
// and test_augmented.json, or one of them: a JSON list of {"imgname", "query", "label"}.
// A question's id is "<split>/<position in the file, from 0>", e.g. "human/0",
// "augmented/12" (the files have no question ids, and imgname repeats).
//
// Predictions: JSON lines {"question_id": "human/0", "text"}.
//
// Official rule (the paper, section 5.1, as pix2struct's relaxed_correctness(target,
// prediction) implements it, the copy LLaVA-style evaluations run): the prediction as written
// and the label are read as numbers by Python's float() (surrounding Unicode whitespace
// ignored, Unicode decimal digits read: "３５" is 35), a text ending in '%' losing all its
// trailing '%' and divided by 100; if both are numbers and the label is not 0 (nan counts as
// not 0), correct when |prediction - label| / |label| <= 0.05; otherwise correct when
// prediction.lower() == label.lower(), Python's Unicode lower case ("CURAÇAO" is "Curaçao").
// So "1,000" is not the number 1000, "45%" is 0.45 (not 45), "45% " and "12 million" are text,
// "Chad " is not "Chad" (nothing strips the text), and a label of 0 needs the text "0".
// Reported per split and as the mean of the splits (papers' "ChartQA"); a note counts the
// answers with surrounding whitespace and how many of them stripping would make right.
// Where trol differs from the official script: a question without an answer is scored wrong
// over all questions of the split, deliberately and said in a note (the official scores the
// answers it is given: a partial file would divide by fewer). The lower case is
// python_lower (score_common.h), Python's own to the code point where Unicode versions agree.
//
// --scoring trol (TroL eval/create_evaluator.py evaluate_chartqa, eval/utils.py): (1) an
// answer containing a digit is cut to its first space-separated word ("12 million" -> "12",
// "The answer is 12" -> "The"); (2) the relaxed_correctness that runs is the second
// definition in eval/utils.py, where '%' is dropped without dividing by 100; (3) it is called
// with prediction and label swapped, so the tolerance is relative to the prediction:
// |prediction - label| / |prediction| <= 0.05, and a prediction of 0 is compared as text;
// (4) the answer is stripped (Python's .strip(): Unicode whitespace) before the comparison.
// (The digit test of (1) is ASCII here; Python's str.isdigit() also takes "²" and other
// digits.)
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "eval/benchmarks/score_common.h"

namespace trol::bench {

// Whether `prediction` answers `label`, by the rule of `scoring` above (`prediction` raw).
bool chartqa_correct(const std::string& prediction, const std::string& label, Scoring scoring);

ScoreReport score_chartqa(const ScoreRequest& request);

// The question files of --data: the folder's test_human.json and test_augmented.json (those
// present, in that order; neither is a BenchmarkFileError), or the file itself.
std::vector<std::filesystem::path> chartqa_question_files(const std::string& data);
// A question file's split, the id prefix: its stem without "test_" ("human", "augmented").
std::string chartqa_split_of(const std::filesystem::path& file);

}  // namespace trol::bench
