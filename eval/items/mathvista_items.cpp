// MathVista items: every problem of testmini.json, in the order of the pids as text ("1", "10", "2").
#include "eval/benchmarks/score_common.h"
#include "eval/benchmark_files.h"
#include "eval/items/item_readers.h"

namespace trol::items {

std::vector<BenchmarkItem> read_mathvista(const BenchmarkSource& source) {
  const auto file = source.data;
  const auto problems_json = bench::read_json_file(file);
  if (!problems_json.is_object()) throw BenchmarkFileError(file, {file + ": not a JSON object of problems by pid"});
  const auto images = image_folder(source, data_folder(file));
  std::vector<std::string> problems;
  std::vector<BenchmarkItem> items;
  for (const auto& [pid, p] : problems_json.items()) {
    const auto where = file + ": problem " + pid;
    const auto query = string_field(p, "query", where, problems);
    const auto image = string_field(p, "image", where, problems);
    BenchmarkItem item;
    item.key = pid;
    item.question = query;
    item.images.push_back({(images / image).string(), {}});
    item.record = {{"question_id", pid}};
    items.push_back(std::move(item));
  }
  if (!problems.empty()) throw BenchmarkFileError(file, problems);
  return items;
}

}  // namespace trol::items
