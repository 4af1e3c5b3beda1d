// Short-answer questions with one reference answer each, per category: the format of the
// built-in dataset's VQA split (data/shapes_dataset.h), and of any question set written the
// same way.
//
// Data (--data): JSON lines, one question each
//   {"question_id": 7, "image": "eval/000003.png", "text": "What colour is the square?",
//    "answer": "red", "category": "colour"}
// (question_id a number or a string, unique in the file; image relative to the image folder).
//
// Predictions: JSON lines {"question_id", "text"} (LLaVA-style answers).
//
// Rule: exact match after the official VQA answer normalisation on both sides (normalize_answer,
// eval/answer_scoring.h: vqaEval.py's processing), the single-reference case of VQA accuracy.
// Metrics: accuracy and questions over all, and per category {"category": {"<value>":
// {"accuracy", "questions"}}}. --scoring trol scores the same way (the authors have no such split).
#pragma once

#include "eval/benchmarks/score_common.h"

namespace trol::bench {

struct VqaQuestion {
  int64_t line = 0;
  std::string id, image, text, answer, category;
};

// The questions of `file`; every bad line (not an object, a field missing or not a non-empty
// string, a repeated id) is a BenchmarkFileError naming file:line.
std::vector<VqaQuestion> read_vqa_questions(const std::string& file);

ScoreReport score_vqa(const ScoreRequest& request);

}  // namespace trol::bench
