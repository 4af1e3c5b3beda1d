// MMBench (Liu et al., 2023), scored by circular evaluation.
//
// Data (--data): an MMBench TSV with answers (e.g. mmbench_dev_20230712.tsv; the test TSVs
// have no answers and are scored by the OpenCompass server): columns index, question, hint,
// A, B, C, D, answer, image, ... (read by read_mmbench_tsv, eval/benchmark_files.h). The
// released TSVs already hold the circular copies: a question with N options appears N times
// with its options rotated, the copies at index + k * 1000000.
//
// Predictions: JSON lines {"question_id": <index>, "text"} (LLaVA's answers for
// model_vqa_mmbench.py), one per TSV row.
//
// Official rule (VLMEvalKit's MMBench evaluation, which the leaderboard runs): the option
// letter of every answer by extract_option_letter (eval/answer_scoring.h: a letter standing
// alone, else exactly one option text contained); a question counts only if every rotation
// of it (all rows with the same index mod 1000000) is right. An answer the rules cannot read
// is wrong and counted as unparsable (VLMEvalKit then asks GPT to match it; we never do).
// Also reported: vanilla_accuracy, the plain accuracy of the original rows (index < 1000000).
//
// LLaVA prints no MMBench score (convert_mmbench_for_submission.py writes the xlsx for
// OpenCompass's server); its answers, keyed by index, are read here as they are.
//
// --scoring trol (TroL eval/create_evaluator.py evaluate_mmbench_dev): the prediction is the
// answer's first character, compared with the answer letter, averaged over every row
// (rotations counted separately, no circular grouping, no letter extraction).
#pragma once

#include "eval/benchmarks/score_common.h"

namespace trol::bench {

ScoreReport score_mmbench(const ScoreRequest& request);

}  // namespace trol::bench
