// MMBench items: every TSV row (the circular copies are rows of their own), the image decoded
// from base64; the prompt is the one read_mmbench_tsv builds, the authors' too.
#include "eval/benchmark_files.h"
#include "eval/items/item_readers.h"

namespace trol::items {

std::vector<BenchmarkItem> read_mmbench(const BenchmarkSource& source) {
  std::vector<BenchmarkItem> items;
  for (auto& row : read_mmbench_tsv(source.data)) {
    BenchmarkItem item;
    item.key = row.id;
    item.question = std::move(row.prompt);
    item.images.push_back({"", std::move(row.image_bytes)});
    item.record = {{"question_id", id_value(row.id)}};
    items.push_back(std::move(item));
  }
  return items;
}

}  // namespace trol::items
