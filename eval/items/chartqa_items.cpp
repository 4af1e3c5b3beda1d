// ChartQA items: every question of test_human.json and test_augmented.json (or the one file
// given), id "<split>/<position>" as the scorer numbers them.
#include "eval/benchmarks/chartqa.h"
#include "eval/benchmark_files.h"
#include "eval/items/item_readers.h"

namespace trol::items {

std::vector<BenchmarkItem> read_chartqa(const BenchmarkSource& source) {
  std::vector<BenchmarkItem> items;
  for (const auto& file : bench::chartqa_question_files(source.data)) {
    const auto questions = bench::read_json_file(file.string());
    if (!questions.is_array()) throw BenchmarkFileError(file.string(), {file.string() + ": not a JSON list of questions"});
    const auto images = image_folder(source, file.parent_path() / "png");
    const auto split = bench::chartqa_split_of(file);
    std::vector<std::string> problems;
    for (size_t i = 0; i < questions.size(); ++i) {
      const auto where = file.string() + ": entry " + std::to_string(i);
      const auto image = string_field(questions[i], "imgname", where, problems);
      const auto query = string_field(questions[i], "query", where, problems);
      BenchmarkItem item;
      item.key = split + "/" + std::to_string(i);
      item.question = short_answer_prompt(query);
      item.images.push_back({(images / image).string(), {}});
      item.record = {{"question_id", item.key}};
      items.push_back(std::move(item));
    }
    if (!problems.empty()) throw BenchmarkFileError(file.string(), problems);
  }
  return items;
}

}  // namespace trol::items
