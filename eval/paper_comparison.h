// report.md: our score on each public benchmark beside the numbers the TroL paper publishes for
// TroL-1.8B, TroL-3.8B and TroL-7B.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "eval/suite_evaluation.h"

namespace trol {

// A benchmark's headline number in the paper's unit (percent; MME in its points), read from
// its metrics (metrics/<name>.json): POPE average accuracy over the splits present (one split: its own), MME total,
// MMBench circular accuracy, ScienceQA-IMG / TextVQA / MathVista accuracy, ChartQA relaxed
// accuracy (mean of the splits present).
struct Headline {
  std::string label;  // "POPE accuracy (mean of splits)"
  std::optional<double> value;
};
Headline headline_of(const std::string& benchmark, const nlohmann::ordered_json& metrics);

// The published TroL-1.8B / 3.8B / 7B numbers for a benchmark (absent where the source gives
// none, e.g. TextVQA).
struct PublishedNumbers {
  std::optional<double> trol_1_8b, trol_3_8b, trol_7b;
};
PublishedNumbers published_numbers(const std::string& benchmark);

// The markdown report: one row per suite (ours, the paper's three, the counts of missing and
// unparsable answers), the source of the published numbers, and what differs in the setup.
std::string markdown_report(const std::vector<SuiteResult>& results, const std::string& scoring,
                            const std::string& model_description);

}  // namespace trol
