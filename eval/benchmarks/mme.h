// MME (Fu et al., 2023): 14 subtasks of yes/no questions, two per image (one yes, one no).
//
// Data (--data): the release folder MME_Benchmark_release_version/, one folder per subtask:
//   <subtask>/images/<name>.jpg + <subtask>/questions_answers_YN/<name>.txt   (artwork,
//       celebrity, landmark, posters, scene)
//   <subtask>/<name>.jpg|png + <subtask>/<name>.txt                            (the others)
// each .txt holding one "question<TAB>Yes|No" line per question about image <name>.
// Subtasks: Perception = existence count position color posters celebrity scene landmark
// artwork OCR; Cognition = commonsense_reasoning numerical_calculation text_translation
// code_reasoning. Absent subtask folders are reported (and left out of the sums).
//
// Predictions, either
//   - MME eval_tool's own input: a folder with <subtask>.txt, each line
//     "image_name<TAB>question<TAB>ground_truth<TAB>prediction"; or
//   - LLaVA's answers JSONL {"question_id": "<subtask>/<image file>", "prompt", "text"}
//     (LLaVA's question_id names the image only, so the question comes from "prompt").
// A prediction is matched to a question by subtask, image name (without extension) and
// question text, compared without LLaVA's "Answer the question using a single word or
// phrase." and "Please answer yes or no." and with whitespace runs collapsed.
//
// Official rule (MME eval_tool calculation.py): both sides lowercased; an answer that is
// exactly "yes"/"no" is that; else "yes" in its first 4 characters -> yes, else "no" in them ->
// no, else "other" (wrong). Per subtask: acc = correct / questions, acc+ = images with every
// question right / images; score = 100 * (acc + acc+); Perception and Cognition sum their
// subtasks' scores. The official script pairs consecutive lines as one image's two questions;
// we group by image, so a reordered or incomplete file cannot misalign.
//
// `trol score --questions llava_mme.jsonl` gives LLaVA's pipeline's number instead (consecutive
// answers paired, as calculation.py does): eval/benchmarks/llava_answers.h.
//
// --scoring trol: TroL eval/utils.py MMEEvaluator is the same rule and the same sums (its
// changes are to how the result files are written: duplicates dropped), so both scorings
// give the same numbers.
#pragma once

#include <string>
#include <vector>

#include "eval/benchmarks/score_common.h"

namespace trol::bench {

// One question of the release: `image` is the name of its .txt file without extension (the
// image's stem), `question` the text as written (MME's own "Please answer yes or no." included).
struct MmeQuestion {
  std::string subtask, image, question;
  bool yes = false;
};

// Every question under `data`, subtasks in MME's order (Perception, then Cognition), files in
// name order, lines in file order; subtask folders that are absent are appended to `absent`.
// Throws BenchmarkFileError for a missing folder, bad lines (file:line) or no subtask at all.
std::vector<MmeQuestion> read_mme_questions(const std::string& data, std::vector<std::string>& absent);

// The question's key among MME's items: "<subtask>/<image stem>\t<question>".
std::string mme_item_key(const MmeQuestion& question);

// "yes", "no" or "other", by the official rule above.
std::string mme_parse_answer(const std::string& answer);

ScoreReport score_mme(const ScoreRequest& request);

}  // namespace trol::bench
