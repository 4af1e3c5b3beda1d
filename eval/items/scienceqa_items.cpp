// ScienceQA-IMG items: the test pids (pid_splits.json order) whose problem has an image.
#include "eval/benchmarks/score_common.h"
#include "eval/benchmark_files.h"
#include "eval/items/item_readers.h"

namespace trol::items {

std::vector<BenchmarkItem> read_scienceqa(const BenchmarkSource& source) {
  namespace fs = std::filesystem;
  const auto problems_file = (fs::path(source.data) / "problems.json").string();
  const auto splits_file = (fs::path(source.data) / "pid_splits.json").string();
  const auto problems = bench::read_json_file(problems_file);
  const auto splits = bench::read_json_file(splits_file);
  if (!splits.is_object() || !splits.contains("test") || !splits["test"].is_array()) {
    throw BenchmarkFileError(splits_file, {splits_file + ": no \"test\" list of pids"});
  }
  const auto images = image_folder(source, fs::path(source.data) / "images") / "test";
  std::vector<std::string> bad;
  std::vector<BenchmarkItem> items;
  for (const auto& pid_json : splits["test"]) {
    const auto pid = pid_json.is_string() ? pid_json.get<std::string>() : pid_json.dump();
    const auto where = problems_file + ": problem " + pid;
    if (!problems.contains(pid)) {
      bad.push_back(problems_file + ": test pid " + pid + " is not in problems.json");
      continue;
    }
    const auto& p = problems[pid];
    if (!p.contains("image") || p["image"].is_null()) continue;  // IMG: questions with an image
    const auto image = string_field(p, "image", where, bad);
    const auto question = string_field(p, "question", where, bad);
    std::vector<std::string> choices;
    if (!p.contains("choices") || !p["choices"].is_array()) {
      bad.push_back(where + ": missing list \"choices\"");
    } else {
      for (const auto& c : p["choices"]) choices.push_back(c.is_string() ? c.get<std::string>() : c.dump());
    }
    // The authors' sqa_filtering: '\n'.join([hint, question, choices]) (an empty hint left out).
    const auto hint = p.contains("hint") && p["hint"].is_string() ? p["hint"].get<std::string>() : "";
    BenchmarkItem item;
    item.key = pid;
    item.question = multiple_choice_prompt(hint, question, choices);
    item.images.push_back({(images / pid / image).string(), {}});
    item.record = {{"question_id", pid}};
    items.push_back(std::move(item));
  }
  if (!bad.empty()) throw BenchmarkFileError(problems_file, bad);
  return items;
}

}  // namespace trol::items
