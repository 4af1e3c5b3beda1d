// POPE items: every question of every split file, ids unique per split (question_ids restart
// in each file), the split in the record so the scorer can tell them apart.
#include "eval/benchmarks/pope.h"
#include "eval/benchmark_files.h"
#include "eval/items/item_readers.h"

namespace trol::items {

std::vector<BenchmarkItem> read_pope(const BenchmarkSource& source) {
  const auto images = image_folder(source, data_folder(source.data) / "val2014");
  std::vector<BenchmarkItem> items;
  for (const auto& file : bench::pope_question_files(source.data)) {
    const auto split = bench::pope_split_of(file);
    std::vector<std::string> problems;
    for (const auto& record : bench::read_prediction_jsonl(file.string(), {"text"})) {
      const auto image = string_field(record.object, "image", file.string() + ":" + std::to_string(record.line), problems);
      BenchmarkItem item;
      item.key = split + "/" + record.id;
      item.question = short_answer_prompt(record.text);
      item.images.push_back({(images / image).string(), {}});
      item.record = {{"question_id", record.object["question_id"]}, {"category", split}};
      items.push_back(std::move(item));
    }
    if (!problems.empty()) throw BenchmarkFileError(file.string(), problems);
  }
  return items;
}

}  // namespace trol::items
