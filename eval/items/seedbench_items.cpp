// SEED-Bench items: the image questions as the scorer reads them (SEED-Bench.json, or
// VLMEvalKit's SEEDBench_IMG.tsv with base64 images). The prompt is the authors'
// seed_filtering + make_instruction: the question, one "A. x" line per option, the letter
// instruction (multiple_choice_prompt's layout).
#include <filesystem>

#include "eval/benchmarks/seedbench.h"
#include "eval/items/item_readers.h"

namespace trol::items {

std::vector<BenchmarkItem> read_seedbench(const BenchmarkSource& source) {
  namespace fs = std::filesystem;
  const bool json = fs::path(source.data).extension() == ".json";
  const auto images = image_folder(source, data_folder(source.data) / "SEED-Bench-image");
  auto questions = bench::read_seedbench_questions(source.data, true);
  std::vector<std::string> problems;
  std::vector<BenchmarkItem> items;
  for (auto& q : questions) {
    auto prompt = q.question + "\n" + option_list(q.choices, "\n") + "\n" + kOptionLetterInstruction;
    if (!json) {
      items.push_back(choice_item(q, std::move(prompt), source.data, problems));
      continue;
    }
    if (q.question.empty() || q.image.empty()) {
      problems.push_back(source.data + ": question_id " + q.id + ": needs string question and data_id");
      continue;
    }
    BenchmarkItem item;
    item.key = q.id;
    item.question = std::move(prompt);
    item.images.push_back({(images / q.image).string(), {}});
    item.record = {{"question_id", q.id}};
    items.push_back(std::move(item));
  }
  if (!problems.empty()) throw BenchmarkFileError(source.data, problems);
  return items;
}

}  // namespace trol::items
