// AI2D (Kembhavi et al., ECCV 2016), the test split of diagram questions (3,088 in VLMEvalKit's
// AI2D_TEST), four options each.
//
// Data (--data): VLMEvalKit's AI2D_TEST.tsv (columns index, question, A-D, answer (letter),
// category?, image (base64), ...; read as eval/benchmarks/multiple_choice.h describes). AI2D's
// own release (one JSON per image under questions/) has no test split file; the TSV is the
// form people score with.
//
// Predictions: JSON lines {"question_id": <index>, "text"}.
//
// Official rule (VLMEvalKit's ImageMCQDataset evaluation, the number leaderboards and the
// LLaVA family report): the option letter by vlmevalkit_can_infer; accuracy overall (and per
// category / l2-category where the TSV has them). Answers it cannot read are wrong and counted
// unparsable (VLMEvalKit would ask a GPT judge; with its exact_matching judge it scores them
// wrong too).
//
// --scoring trol (TroL eval/create_evaluator.py evaluate_ai2d): the first capital letter
// anywhere in the answer (re.findall('[A-Z]')[0], "The answer is B" -> T) is the choice; an
// answer without a capital letter crashes TroL's script, here it is wrong and unparsable.
#pragma once

#include "eval/benchmarks/score_common.h"

namespace trol::bench {

ScoreReport score_ai2d(const ScoreRequest& request);

}  // namespace trol::bench
