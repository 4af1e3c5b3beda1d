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
// letter; two or no matches fail). A letter beyond the question's choices, or a failure, makes
// the official script pick a random choice; here it is wrong and counted as unparsable.
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
