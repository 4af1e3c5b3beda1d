// HallusionBench items: the questions with a figure, as the scorer reads them
// (HallusionBench.json: image <folder>/hallusion_bench/<filename>; VLMEvalKit's TSV: base64).
// The prompt is the authors' make_instruction: the question, plus "\nPlease answer yes or no."
// unless it says so already. The JSON's questions without a figure (filename null) are asked
// as text, as the authors' hallusionbench_filtering does.
#include <filesystem>

#include "eval/benchmarks/hallusionbench.h"
#include "eval/items/item_readers.h"

namespace trol::items {

std::vector<BenchmarkItem> read_hallusionbench(const BenchmarkSource& source) {
  namespace fs = std::filesystem;
  const bool json = fs::path(source.data).extension() == ".json";
  const auto images = image_folder(source, data_folder(source.data) / "hallusion_bench");
  auto questions = bench::read_hallusionbench_questions(source.data, true);
  std::vector<std::string> problems;
  std::vector<BenchmarkItem> items;
  for (auto& q : questions) {
    if (q.question.empty()) {
      problems.push_back(source.data + ": " + q.id + ": no question");
      continue;
    }
    BenchmarkItem item;
    item.key = q.id;
    const std::string ask = "Please answer yes or no.";
    item.question = q.question.find(ask) == std::string::npos ? q.question + "\n" + ask : q.question;
    if (!json) {
      item.images = tsv_images(q.image, source.data + ": " + q.id, problems);
    } else if (!q.image.empty()) {
      // The authors' x['filename'][2:]: the names start "./".
      item.images.push_back({(images / (q.image.rfind("./", 0) == 0 ? q.image.substr(2) : q.image)).string(), {}});
    }
    item.record = {{"question_id", q.id}};
    items.push_back(std::move(item));
  }
  if (!problems.empty()) throw BenchmarkFileError(source.data, problems);
  return items;
}

}  // namespace trol::items
