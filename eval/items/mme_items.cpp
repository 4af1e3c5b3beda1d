// MME items: the questions of every subtask present, two per image, with LLaVA's record
// (question_id "<subtask>/<image file>" plus the question as "prompt", which the scorer
// matches on).
#include <filesystem>

#include "eval/benchmarks/mme.h"
#include "eval/items/item_readers.h"

namespace trol::items {

namespace fs = std::filesystem;

namespace {

// The image of a question file: <stem> with the first extension present, else <stem>.jpg
// (then missing, and reported when it is generated for).
fs::path image_of(const fs::path& folder, const std::string& stem) {
  for (const char* extension : {".jpg", ".png", ".jpeg", ".JPG", ".PNG"}) {
    if (fs::is_regular_file(folder / (stem + extension))) return folder / (stem + extension);
  }
  return folder / (stem + ".jpg");
}

}  // namespace

std::vector<BenchmarkItem> read_mme(const BenchmarkSource& source) {
  const fs::path root = image_folder(source, source.data);
  std::vector<std::string> absent;
  std::vector<BenchmarkItem> items;
  for (const auto& q : bench::read_mme_questions(source.data, absent)) {
    const auto folder = fs::is_directory(root / q.subtask / "images") ? root / q.subtask / "images" : root / q.subtask;
    const auto image = image_of(folder, q.image);
    BenchmarkItem item;
    item.question = q.question;
    item.images.push_back({image.string(), {}});
    item.record = {{"question_id", q.subtask + "/" + image.filename().string()}, {"prompt", q.question}};
    item.key = bench::mme_item_key(q);
    items.push_back(std::move(item));
  }
  return items;
}

}  // namespace trol::items
