// MMBench items: every TSV row (the circular copies are rows of their own), the image decoded
// from base64; the prompt is the one read_mmbench_tsv builds, the authors' too.
#include "eval/builtin_benchmarks.h"
#include "eval/items/item_readers.h"

namespace trol::items {

std::vector<BenchmarkItem> read_mmbench(const BenchmarkSource& source) {
  std::vector<BenchmarkItem> items;
  for (auto& row : read_mmbench_tsv(source.data)) {
    BenchmarkItem item;
    item.key = row.id;
    item.question = std::move(row.question);
    item.images.push_back({"", std::move(row.image_bytes)});
    // The TSV index is an integer; the scorer reads ids as text either way.
    const bool integer = !row.id.empty() && row.id.find_first_not_of("0123456789") == std::string::npos;
    item.record = {{"question_id", integer ? nlohmann::ordered_json(std::stoll(row.id)) : nlohmann::ordered_json(row.id)}};
    items.push_back(std::move(item));
  }
  return items;
}

}  // namespace trol::items
