// HallusionBench (Guan et al., CVPR 2024): yes/no questions on figures, some edited (visual
// dependent "VD" and visual supplement "VS" categories, subcategories chart, table, map, ocr,
// illusion, math, figure, video), grouped into figures and question pairs.
//
// Data (--data), either
//   - HallusionBench's own HallusionBench.json: a list of {"category", "subcategory",
//     "visual_input" ("0" no image, "1" original, "2" edited), "set_id", "figure_id",
//     "question_id", "question", "gt_answer" ("1" yes, "0" no), ...} (1,129 questions);
//     prediction ids are "<category>_<subcategory>_<set_id>_<figure_id>_<question_id>" (the
//     name its utils.py get_eval_all gives a question);
//   - or VLMEvalKit's HallusionBench.tsv (index, question, answer Yes/No, category,
//     l2-category, image; the 951 questions with an image): prediction ids are index, and
//     set_id, figure_id, question_id are index.split("_")[3], [4], [5] as VLMEvalKit's
//     Hallusion_rating takes them.
//
// Predictions: JSON lines {"question_id", "text"}.
//
// Official metrics (tianyi-lab/HallusionBench utils.py, evaluation.py's leaderboard row):
//   aAcc  questions right / questions (get_eval_all);
//   fAcc  figures whose questions are all right / figures, a figure being
//         category_subcategory_set_id_figure_id, VS questions without a figure (figure_id 0)
//         left out (get_eval_fig);
//   qAcc  question pairs all right / pairs, a pair being category_subcategory_set_id_question_id
//         (get_eval_pair_all); easy_qAcc / hard_qAcc the same over visual_input != 2 / == 2
//         (get_eval_pair_easy / _hard);
//   overall and per category (VD, VS); with the TSV the groups use l2-category instead of
//   category_subcategory, as VLMEvalKit does, and are reported per category and l2-category.
// The official tool asks GPT-4 whether the answer agrees with the reference (correct /
// incorrect / unclear, and "unclear" on a VS question without a figure counts as right). Here
// the answer is read by VLMEvalKit's YOrN_Extraction instead: lowercased, its punctuation
// processed (VQA-style, VLMEvalKit's process_punctuation), split into words; "yes" without
// "no" is yes, "no" without "yes" is no; anything else cannot be read and is wrong, counted
// unparsable -- no GPT judge, so scores differ from GPT-judged ones where answers are
// free-form.
//
// --scoring trol (TroL eval/create_evaluator.py evaluate_hallusionbench, on HallusionBench.json):
// "yes" anywhere in the lowercased answer is yes, else no (never unparsable); the authors
// report aAcc only (fAcc and qAcc are given by the same groups).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "eval/benchmarks/score_common.h"

namespace trol::bench {

struct HallusionQuestion {
  std::string id;               // what predictions name it by (above)
  bool yes = false;             // the reference answer
  bool hard = false;            // visual_input == "2" (an edited figure)
  std::string figure, pair;     // group keys; figure empty: in no figure group
  std::map<std::string, std::string> groups;  // category (and l2-category for the TSV)
  std::string question;         // the question as written
  std::string image;            // HallusionBench.json: filename ("" for none); the TSV: the base64 cell with keep_images
};

// The questions of HallusionBench.json or the TSV (by the file's extension), as scored.
std::vector<HallusionQuestion> read_hallusionbench_questions(const std::string& file, bool keep_images = false);

// VLMEvalKit's YOrN_Extraction: "Yes", "No" or "Unknown".
std::string yes_or_no_extraction(const std::string& answer);

ScoreReport score_hallusionbench(const ScoreRequest& request);

}  // namespace trol::bench
