// TextVQA (Singh et al., CVPR 2019), scored by VQA accuracy.
//
// Data (--data): TextVQA_0.5.1_val.json: {"data": [{"question_id", "question", "answers":
// [10 human answers], ...}]} (the test split has no answers).
//
// Predictions: JSON lines {"question_id", "text"} (LLaVA's answers for model_vqa_loader.py).
//
// Official rule (the TextVQA authors' evaluator, MMF's TextVQAAccuracyEvaluator with the
// EvalAI answer processor; LLaVA's m4c_evaluator.py is the same code): every answer, the
// prediction and the human ones, is normalised by textvqa_normalize; a prediction scores,
// averaged over the 10 ways to leave one human answer out, min(1, matching others / 3).
//
// LLaVA's answers to llava_textvqa_val_v051_ocr.jsonl (question_id = the image id, joined by
// the question text): `trol score --questions`, eval/benchmarks/llava_answers.h.
//
// --scoring trol: TroL eval/utils.py carries the same processor and evaluator, so both
// scorings give the same numbers.
#pragma once

#include <string>
#include <vector>

#include "eval/benchmarks/score_common.h"

namespace trol::bench {

// The EvalAI answer processor (MMF EvalAIAnswerProcessor):
//   1. lowercase; remove ',' and '?'; "'s" -> " 's"; newline and tab -> space; strip;
//   2. each of ; / [ ] " { } ( ) = + \ _ - > < @ ` , ? ! is removed if it touches a space
//      in the text, else replaced by a space; a '.' not followed by a digit is removed (at
//      most 32 of them: the official call passes re.UNICODE as the count);
//   3. split on whitespace; number words none..ten -> digits; a, an, the dropped;
//      contractions written without apostrophe restored from the processor's table;
//      joined by single spaces.
// Because commas go in step 1, "1,000" becomes "1000" (unlike vqaEval.py's normalize_answer).
std::string textvqa_normalize(const std::string& answer);

// The VQA accuracy of `prediction` against the human answers (both raw).
double textvqa_accuracy(const std::string& prediction, const std::vector<std::string>& human_answers);

ScoreReport score_textvqa(const ScoreRequest& request);

}  // namespace trol::bench
