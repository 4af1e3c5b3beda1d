// POPE (Li et al., EMNLP 2023): "Is there a <object> in the image?" over COCO val2014, three
// splits by how the absent objects were sampled (random, popular, adversarial).
//
// Data (--data): POPE's own question files, JSON lines
//   {"question_id": 1, "image": "COCO_val2014_000000310196.jpg", "text": "Is there a snowboard in the image?", "label": "yes"}
// either one file, or a folder holding coco_pope_{random,popular,adversarial}.json (POPE's
// output/coco/ names; .jsonl accepted too); the split is the name after "pope_" (else the
// file's stem). question_ids restart in every split file.
//
// Predictions: JSON lines {"question_id", "text"} (LLaVA) or {"question_id", "answer"}
// (POPE's own answer files), optionally "category": the split. With several splits a
// prediction without "category" whose id is in more than one split is an error (file:line).
//
// Official rule (POPE's evaluate.py, the same in LLaVA's eval_pope.py): keep the text before
// the first '.', drop commas, split on single spaces; "no" if a word is exactly "No", "no" or
// "not", else "yes" (case-sensitive: "NO" and "Not" read as yes). Per split: accuracy,
// precision, recall, F1 (yes = positive), yes_ratio.
//   Missing predictions: accuracy counts them wrong over all questions; precision, recall,
//   F1 and yes_ratio are over the answered questions (the official script has no notion of a
//   missing answer: it zips answers with labels in file order and silently misaligns).
//
// LLaVA's answers to llava_pope_test.jsonl (ids renumbered per split, no category in the
// answers): `trol score --questions`, eval/benchmarks/llava_answers.h.
//
// --scoring trol (TroL eval/utils.py eval_pope): the same rule on the lowercased answer, so
//   "NO." and "Not at all" read as no. The authors report accuracy only.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "eval/benchmarks/score_common.h"

namespace trol::bench {

// true = yes, by the rule of `scoring` above.
bool pope_reads_yes(const std::string& answer, Scoring scoring);

ScoreReport score_pope(const ScoreRequest& request);

// The question files of --data (the file itself, or the folder's coco_pope_<split>.json|.jsonl
// in the order random, popular, adversarial); throws BenchmarkFileError when there are none.
std::vector<std::filesystem::path> pope_question_files(const std::string& data);
// A question file's split: the name after "pope_" in its stem, else the stem.
std::string pope_split_of(const std::filesystem::path& file);

}  // namespace trol::bench
