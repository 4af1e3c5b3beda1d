// ScienceQA-IMG (Lu et al., NeurIPS 2022): the test questions that have an image.
//
// Data (--data): ScienceQA's data/scienceqa/ folder: problems.json ({pid: {"question",
// "choices": [...], "answer": <index>, "image": "image.png" | null, "split", ...}}) and
// pid_splits.json ({"test": [pid, ...], ...}). Scored: split "test", image not null.
//
// Predictions: JSON lines {"question_id": pid, "text"} (LLaVA's answers for
// model_vqa_science.py).
//
// Official rule (LLaVA's eval_science_qa.py, after ScienceQA's own): with options A-E, the
// letter is the whole answer if it is a letter, else its first character when followed by
// ". " ("B. cat"), else the one match of "The answer is ([A-Z])." (any character after the
// letter; two or no matches fail). A letter beyond the question's choices, or a failure, is
// wrong and counted as unparsable (LLaVA's get_pred_idx returns -1 since the v1.5 scripts,
// October 2023; its first release picked a random choice).
//
// Where trol differs from eval_science_qa.py, deliberately and said in the printed notes:
//   - a test question with an image but no answer is wrong and stays in the denominator; the
//     official IMG-Accuracy counts only answered questions (it decides "image" by '<image>' in
//     the answer's prompt, and a missing answer has none), so a partial file scores higher
//     there (its overall Accuracy does count missing answers wrong, over all test questions);
//   - "image" comes from problems.json ("image" not null), which is the same set on LLaVA's
//     question file, whose image questions carry '<image>';
//   - of duplicated ids the first answer is scored; the official dict keeps the last;
//   - an integer question_id is matched to its pid; the official compares it with the
//     string pid, finds nothing, and scores the question as a failure.
//
// --scoring trol (TroL eval/utils.py convert_to_choice): the first character counts when it
// is a letter and the answer has a '.' anywhere ("A cat." -> A, "B, because x." -> B); a
// failure is wrong (no random guess).
#pragma once

#include <string>

#include "eval/benchmarks/score_common.h"

namespace trol::bench {

// The letter (A-E) the answer picks by `scoring`'s rule, or "" when it fails.
std::string scienceqa_letter(const std::string& answer, Scoring scoring);

ScoreReport score_scienceqa(const ScoreRequest& request);

}  // namespace trol::bench
