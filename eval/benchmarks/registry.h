// Every benchmark `trol score` knows, by name. Each benchmark's header documents its data
// layout, prediction formats, the official rule and the TroL authors' variant:
//   pope       eval/benchmarks/pope.h        mme        eval/benchmarks/mme.h
//   mmbench    eval/benchmarks/mmbench.h     scienceqa  eval/benchmarks/scienceqa.h
//   chartqa    eval/benchmarks/chartqa.h     textvqa    eval/benchmarks/textvqa.h
//   mathvista  eval/benchmarks/mathvista.h   mm-vet, llava-w  eval/benchmarks/gpt_judged.h
//   ai2d       eval/benchmarks/ai2d.h        seedbench  eval/benchmarks/seedbench.h (SEED-IMG)
//   mmstar     eval/benchmarks/mmstar.h      mmmu       eval/benchmarks/mmmu.h
//   hallusionbench  eval/benchmarks/hallusionbench.h
//   vqa        eval/benchmarks/vqa.h (one reference answer per question: the built-in dataset's split)
// The multiple-choice ones share eval/benchmarks/multiple_choice.h (VLMEvalKit TSVs, can_infer).
// LLaVA's answer files, scored by LLaVA's scripts' rules (--questions): eval/benchmarks/llava_answers.h.
#pragma once

#include <string>
#include <vector>

#include "eval/benchmarks/score_common.h"

namespace trol::bench {

std::vector<std::string> benchmark_names();

// Scores request.predictions on benchmark `name`; throws std::invalid_argument for an unknown
// name (listing the known ones), BenchmarkFileError for bad files.
ScoreReport score_benchmark(const std::string& name, const ScoreRequest& request);

}  // namespace trol::bench
