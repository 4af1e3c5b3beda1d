// Benchmarks whose official score comes from a GPT judge: MM-Vet (GPT-4 grades each answer
// 0-1 against the reference) and LLaVA-Bench in-the-Wild ("llava-w": GPT-4 rates each answer
// against its own reference answer). trol never makes up such a score: `trol score` refuses,
// and with --export FILE converts the predictions to what the official tool takes:
//   mm-vet   {"v1_0": "answer", ...}: the JSON MM-Vet's evaluator (mm-vet_evaluator.py)
//            reads; ids that are plain numbers get the "v1_" prefix, as LLaVA's
//            convert_mmvet_for_eval.py writes them.
//   llava-w  the answers JSONL {"question_id", "prompt"?, "text"} that LLaVA's
//            eval_gpt_review_bench.py reads, one line per question, in question_id order.
// No --data is needed. (MathVista's GPT answer extraction: see mathvista.h.)
#pragma once

#include <string>

#include "eval/benchmarks/score_common.h"

namespace trol::bench {

// `benchmark` is "mm-vet" or "llava-w". Throws std::runtime_error (saying why and what to
// do) without --export; with it, writes the file and returns a report with no metrics.
ScoreReport convert_gpt_judged(const std::string& benchmark, const ScoreRequest& request);

}  // namespace trol::bench
