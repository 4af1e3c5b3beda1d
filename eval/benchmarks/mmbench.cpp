#include "eval/benchmarks/mmbench.h"

#include <stdexcept>

#include "eval/answer_scoring.h"
#include "eval/benchmark_files.h"

namespace trol::bench {

ScoreReport score_mmbench(const ScoreRequest& request) {
  ScoreReport report;
  report.benchmark = "mmbench";
  report.scoring = request.scoring;
  auto items = read_mmbench_tsv(request.data);
  keep_asked(items, request, [](const MmbenchRow& row) { return row.id; });
  report.counts.items = static_cast<int64_t>(items.size());

  std::map<std::string, int> known;
  std::map<int64_t, std::vector<const MmbenchRow*>> groups;  // index mod 1e6 -> its rotations
  for (const auto& item : items) {
    known[item.id] = 1;
    size_t used = 0;
    int64_t index = -1;
    try {
      index = std::stoll(item.id, &used);
    } catch (const std::exception&) {
    }
    if (used != item.id.size() || index < 0) {
      throw BenchmarkFileError(request.data, {request.data + ": index \"" + item.id + "\" is not a non-negative integer"});
    }
    groups[index % 1000000].push_back(&item);
  }
  const auto records = read_prediction_jsonl(request.predictions);
  const auto predictions = index_predictions_by_id(records, known, report.counts, report.notes);

  int64_t rows_right = 0, originals = 0, originals_right = 0, groups_right = 0;
  for (const auto& [main, rotations] : groups) {
    bool all_right = true;
    for (const auto* item : rotations) {
      const auto it = predictions.find(item->id);
      bool right = false;
      if (it == predictions.end()) {
        ++report.counts.missing;
      } else if (request.scoring == Scoring::Trol) {
        right = !it->second->text.empty() && std::string(1, it->second->text[0]) == item->answer;
      } else {
        const auto letter = extract_option_letter(it->second->text, item->options);
        if (letter.empty()) ++report.counts.unparsable;
        right = letter == item->answer;
      }
      rows_right += right;
      all_right = all_right && right;
      if (std::stoll(item->id) < 1000000) {
        ++originals;
        originals_right += right;
      }
    }
    groups_right += all_right;
  }
  const auto ratio = [](int64_t a, int64_t b) { return b > 0 ? static_cast<double>(a) / static_cast<double>(b) : 0.0; };
  if (request.scoring == Scoring::Trol) {
    report.metrics["accuracy"] = ratio(rows_right, static_cast<int64_t>(items.size()));
    report.metrics["rows"] = items.size();
    report.notes.push_back("trol scoring: the first character of each answer against the letter, over every row "
                           "(TroL eval/create_evaluator.py evaluate_mmbench_dev); no circular grouping");
  } else {
    report.metrics["circular_accuracy"] = ratio(groups_right, static_cast<int64_t>(groups.size()));
    report.metrics["vanilla_accuracy"] = ratio(originals_right, originals);
    report.metrics["questions"] = groups.size();
    report.metrics["rows"] = items.size();
    if (report.counts.unparsable > 0) {
      report.notes.push_back("unparsable answers are wrong here; VLMEvalKit would ask GPT to match them to an option");
    }
  }
  return report;
}

}  // namespace trol::bench
