// A run's evaluation results as rows of numbers, for `trol report` (several runs side by side)
// and the periodic evaluation's TensorBoard scalars: each suite's metrics as its scorer wrote
// them (metrics/<name>.json's "metrics", results.json's "benchmarks"), read per benchmark:
//   pope     per split: accuracy, precision, recall, f1, yes_ratio; with several splits also
//            the average's accuracy and f1. A suite named pope_<split> with that one split
//            (a built-in split) is labelled "<suite> <metric>", others "<suite> <split> <metric>".
//   vqa      per category: "<suite> <category> accuracy", then "<suite> accuracy"
//   others   every top-level number whose name holds "acc" (any case), MME's perception,
//            cognition and total, and the same one level into an object (ChartQA's relaxed
//            accuracy per split): "<suite> [<split>] <metric>"
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace trol {

struct ResultRow {
  std::string suite;
  std::string metric;  // "accuracy", "random f1", "colour accuracy", ...
  double value = 0;
  std::string label() const { return suite + " " + metric; }
};

std::vector<ResultRow> result_rows(const std::string& suite, const std::string& benchmark,
                                   const nlohmann::ordered_json& metrics);

// The rows of every suite of a run's results.json ("suites": [{"name", "benchmark"}],
// "benchmarks": {name: metrics}), in suite order.
std::vector<ResultRow> run_result_rows(const nlohmann::ordered_json& results);

// A run folder's results.json; throws naming the file when it is missing or not JSON.
nlohmann::ordered_json read_run_results(const std::string& run_dir);

// The runs side by side: a header of their variants, one line per row label (in the order
// labels first appear; "-" where a run lacks it), numbers to 3 decimals, then the training
// seconds of each run (the sum over results.json's "training" stages).
std::string results_table(const std::vector<nlohmann::ordered_json>& runs);

// One object per run: {"variant", "run", "<label>": value, ...} (`trol report --out`'s results.json).
nlohmann::ordered_json combined_results(const std::vector<nlohmann::ordered_json>& runs,
                                        const std::vector<std::string>& run_dirs);

}  // namespace trol
