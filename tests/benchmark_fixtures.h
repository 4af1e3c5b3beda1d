// Shared by the trol score tests: the benchmark fixtures (tests/fixtures/benchmarks/) and a
// one-call scorer over them.
#pragma once

#include <string>

#include "eval/benchmarks/registry.h"

namespace trol::bench {

inline std::string fixture(const std::string& relative) {
  return std::string(TROL_SOURCE_DIR) + "/tests/fixtures/benchmarks/" + relative;
}

// Scores fixture `predictions` on `benchmark` with fixture `data` ("" for none).
inline ScoreReport score(const std::string& benchmark, const std::string& data, const std::string& predictions,
                         Scoring scoring = Scoring::Official) {
  ScoreRequest request;
  request.data = data.empty() ? "" : fixture(data);
  request.predictions = fixture(predictions);
  request.scoring = scoring;
  return score_benchmark(benchmark, request);
}

}  // namespace trol::bench
