// TextVQA items: every question of the val file, its image by image_id.
#include "eval/benchmarks/score_common.h"
#include "eval/benchmark_files.h"
#include "eval/items/item_readers.h"

namespace trol::items {

std::vector<BenchmarkItem> read_textvqa(const BenchmarkSource& source) {
  const auto file = source.data;
  const auto root = bench::read_json_file(file);
  if (!root.is_object() || !root.contains("data") || !root["data"].is_array()) {
    throw BenchmarkFileError(file, {file + ": no \"data\" list of questions"});
  }
  const auto images = image_folder(source, data_folder(file) / "train_images");
  std::vector<std::string> problems;
  std::vector<BenchmarkItem> items;
  const auto& data = root["data"];
  for (size_t i = 0; i < data.size(); ++i) {
    const auto where = file + ": data[" + std::to_string(i) + "]";
    const auto& q = data[i];
    if (!q.contains("question_id") || !(q["question_id"].is_number_integer() || q["question_id"].is_string())) {
      problems.push_back(where + ": missing \"question_id\"");
      continue;
    }
    const auto question = string_field(q, "question", where, problems);
    const auto image_id = string_field(q, "image_id", where, problems);
    BenchmarkItem item;
    item.key = q["question_id"].is_string() ? q["question_id"].get<std::string>() : q["question_id"].dump();
    item.question = short_answer_prompt(question);
    item.images.push_back({(images / (image_id + ".jpg")).string(), {}});
    item.record = {{"question_id", q["question_id"]}};
    items.push_back(std::move(item));
  }
  if (!problems.empty()) throw BenchmarkFileError(file, problems);
  return items;
}

}  // namespace trol::items
