// `trol score`'s work without a model: a predictions file scored by a benchmark's rules
// (eval/benchmarks/registry.h), or by LLaVA's script's rules when LLaVA's question file is
// given (eval/benchmarks/llava_answers.h), and what it prints and writes.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "eval/benchmarks/llava_answers.h"

namespace trol {

// Scores request.predictions on `benchmark`; with `llava_questions` (LLaVA's question file the
// predictions answer), by LLaVA's script (then only the official scoring exists: throws
// std::invalid_argument for another).
bench::LlavaScore score_predictions(const std::string& benchmark, const bench::ScoreRequest& request,
                                    const std::string& llava_questions);

// The JSON `trol score --out` writes: the report's {"benchmark", "scoring", "metrics", "counts",
// "notes"}, plus {"llava": {"script", "printed"}} when LLaVA's script scored it.
nlohmann::ordered_json score_json(const bench::LlavaScore& score);

// What `trol score` prints: a headline, every metric and count as "a.b.c value" lines (floats
// to 4 decimals), the notes, and LLaVA's script's own lines when it scored.
std::string score_text(const bench::LlavaScore& score);

}  // namespace trol
