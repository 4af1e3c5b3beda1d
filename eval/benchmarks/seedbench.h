// SEED-Bench (Li et al., CVPR 2024), image part (SEED-IMG): the multiple-choice questions of
// evaluation dimensions 1-9 (Scene Understanding, Instance Identity, Instance Location,
// Instance Attributes, Instances Counting, Spatial Relation, Instance Interaction, Visual
// Reasoning, Text Understanding), four options each; dimensions 10-12 are video.
//
// Data (--data), either
//   - SEED-Bench's own SEED-Bench.json: {"question_type": {"Scene Understanding": 1, ...},
//     "questions": [{"question_id", "question", "choice_a".."choice_d", "answer" (letter),
//     "question_type_id", "data_type": "image" | "video", "data_id"}, ...]}; the questions
//     with data_type "image" are scored, per question_type_id (named by the question_type
//     table); prediction ids are question_id;
//   - or VLMEvalKit's SEEDBench_IMG.tsv (index, question, A-D, answer, category = the
//     dimension's name, image); prediction ids are index.
//
// Predictions: JSON lines {"question_id", "text"}.
//
// Official rule: SEED-Bench ranks models by accuracy per dimension and over all image
// questions (its own eval.py picks the option of highest likelihood; generative models are
// scored on the option letter they write, as VLMEvalKit's SEEDBench_IMG does): the letter by
// vlmevalkit_can_infer (eval/benchmarks/multiple_choice.h). Answers it cannot read are wrong
// and counted unparsable.
//
// LLaVA's convert_seed_for_submission.py scores differently (the exact letter, image and video
// questions): `trol score --questions llava-seed-bench.jsonl`, eval/benchmarks/llava_answers.h.
//
// --scoring trol (TroL eval/create_evaluator.py evaluate_seed): the answer's first character
// compared with the letter (case-sensitive, no stripping: " B" and "b" are wrong); an empty
// answer (an IndexError in TroL's script) is wrong and unparsable.
#pragma once

#include <string>
#include <vector>

#include "eval/benchmarks/multiple_choice.h"
#include "eval/benchmarks/score_common.h"

namespace trol::bench {

// The scored questions of `file` (SEED-Bench.json's image questions, or the TSV), grouped under
// "category". SEED-Bench.json questions always carry question and image (the data_id); TSV
// rows only with keep_text.
std::vector<ChoiceQuestion> read_seedbench_questions(const std::string& file, bool keep_text = false);

ScoreReport score_seedbench(const ScoreRequest& request);

}  // namespace trol::bench
