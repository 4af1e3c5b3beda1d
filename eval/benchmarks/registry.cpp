#include "eval/benchmarks/registry.h"

#include <functional>
#include <map>
#include <stdexcept>

#include "eval/benchmarks/ai2d.h"
#include "eval/benchmarks/chartqa.h"
#include "eval/benchmarks/gpt_judged.h"
#include "eval/benchmarks/hallusionbench.h"
#include "eval/benchmarks/mathvista.h"
#include "eval/benchmarks/mmbench.h"
#include "eval/benchmarks/mme.h"
#include "eval/benchmarks/mmmu.h"
#include "eval/benchmarks/mmstar.h"
#include "eval/benchmarks/pope.h"
#include "eval/benchmarks/scienceqa.h"
#include "eval/benchmarks/seedbench.h"
#include "eval/benchmarks/textvqa.h"
#include "eval/benchmarks/vqa.h"

namespace trol::bench {

namespace {

const std::map<std::string, std::function<ScoreReport(const ScoreRequest&)>>& scorers() {
  static const std::map<std::string, std::function<ScoreReport(const ScoreRequest&)>> table{
      {"pope", score_pope},
      {"mme", score_mme},
      {"mmbench", score_mmbench},
      {"scienceqa", score_scienceqa},
      {"chartqa", score_chartqa},
      {"textvqa", score_textvqa},
      {"mathvista", score_mathvista},
      {"ai2d", score_ai2d},
      {"seedbench", score_seedbench},
      {"mmstar", score_mmstar},
      {"mmmu", score_mmmu},
      {"hallusionbench", score_hallusionbench},
      {"vqa", score_vqa},
      {"mm-vet", [](const ScoreRequest& r) { return convert_gpt_judged("mm-vet", r); }},
      {"llava-w", [](const ScoreRequest& r) { return convert_gpt_judged("llava-w", r); }},
  };
  return table;
}

}  // namespace

std::vector<std::string> benchmark_names() {
  std::vector<std::string> names;
  for (const auto& [name, scorer] : scorers()) names.push_back(name);
  return names;
}

ScoreReport score_benchmark(const std::string& name, const ScoreRequest& request) {
  const auto it = scorers().find(name);
  if (it == scorers().end()) {
    std::string known;
    for (const auto& n : benchmark_names()) known += (known.empty() ? "" : ", ") + n;
    throw std::invalid_argument("unknown benchmark '" + name + "' (known: " + known + ")");
  }
  const bool needs_data = name != "mm-vet" && name != "llava-w";
  if (needs_data && request.data.empty()) throw std::invalid_argument(name + " needs --data (its files; see docs/evaluation.md)");
  return it->second(request);
}

}  // namespace trol::bench
