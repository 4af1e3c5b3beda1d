// Short-answer items (eval/benchmarks/vqa.h): each question with its image, relative to the
// image folder (BenchmarkSource::images, else the data file's folder), and LLaVA's short-answer prompt.
#include "eval/benchmarks/vqa.h"
#include "eval/items/item_readers.h"

namespace trol::items {

std::vector<BenchmarkItem> read_vqa(const BenchmarkSource& source) {
  const auto images = image_folder(source, data_folder(source.data));
  std::vector<BenchmarkItem> items;
  for (auto& q : bench::read_vqa_questions(source.data)) {
    BenchmarkItem item;
    item.key = q.id;
    item.question = short_answer_prompt(q.text);
    item.images.push_back({(images / q.image).string(), {}});
    item.record = {{"question_id", id_value(q.id)}};
    items.push_back(std::move(item));
  }
  return items;
}

}  // namespace trol::items
