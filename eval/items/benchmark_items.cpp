#include "eval/items/benchmark_items.h"

#include <functional>
#include <map>
#include <stdexcept>

#include "eval/items/item_readers.h"

namespace trol {

namespace {

struct ItemBenchmark {
  std::function<std::vector<BenchmarkItem>(const BenchmarkSource&)> read;
  int64_t max_new_tokens;  // the authors' get_max_new_tokens
};

const std::map<std::string, ItemBenchmark>& item_benchmarks() {
  static const std::map<std::string, ItemBenchmark> table{
      {"pope", {items::read_pope, 5}},           {"mme", {items::read_mme, 5}},
      {"mmbench", {items::read_mmbench, 5}},     {"scienceqa", {items::read_scienceqa, 5}},
      {"chartqa", {items::read_chartqa, 5}},     {"textvqa", {items::read_textvqa, 5}},
      {"mathvista", {items::read_mathvista, 512}},
  };
  return table;
}

const ItemBenchmark& item_benchmark(const std::string& name) {
  const auto it = item_benchmarks().find(name);
  if (it == item_benchmarks().end()) {
    std::string known;
    for (const auto& n : item_benchmark_names()) known += (known.empty() ? "" : ", ") + n;
    throw std::invalid_argument("no item reader for benchmark '" + name + "' (readers: " + known + ")");
  }
  return it->second;
}

}  // namespace

std::vector<std::string> item_benchmark_names() {
  std::vector<std::string> names;
  for (const auto& [name, benchmark] : item_benchmarks()) names.push_back(name);
  return names;
}

bool has_item_reader(const std::string& benchmark) { return item_benchmarks().count(benchmark) > 0; }

std::vector<BenchmarkItem> read_benchmark_items(const BenchmarkSource& source) {
  return item_benchmark(source.benchmark).read(source);
}

int64_t authors_max_new_tokens(const std::string& benchmark) { return item_benchmark(benchmark).max_new_tokens; }

namespace items {

std::filesystem::path image_folder(const BenchmarkSource& source, const std::filesystem::path& fallback) {
  return source.images.empty() ? fallback : std::filesystem::path(source.images);
}

std::filesystem::path data_folder(const std::string& data) {
  const std::filesystem::path path(data);
  return std::filesystem::is_directory(path) ? path : path.parent_path();
}

std::string string_field(const nlohmann::json& object, const std::string& key, const std::string& where,
                         std::vector<std::string>& problems) {
  const auto it = object.find(key);
  if (it == object.end() || !it->is_string()) {
    problems.push_back(where + ": missing string \"" + key + "\"");
    return "";
  }
  return it->get<std::string>();
}

}  // namespace items

}  // namespace trol
