#include "eval/items/benchmark_items.h"

#include <functional>
#include <map>
#include <stdexcept>

#include "eval/benchmark_files.h"
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
      {"ai2d", {items::read_ai2d, 5}},           {"seedbench", {items::read_seedbench, 5}},
      {"mmstar", {items::read_mmstar, 5}},       {"mmmu", {items::read_mmmu, 5}},
      {"hallusionbench", {items::read_hallusionbench, 5}},
      {"vqa", {items::read_vqa, 5}},
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

std::string user_turn(const BenchmarkItem& item) {
  if (item.images_in_question) return item.question;
  std::string turn;
  for (size_t i = 0; i < item.images.size(); ++i) turn += kImagePlaceholder + "\n";
  return turn + item.question;
}

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

std::string option_list(const std::vector<bench::Choice>& choices, const std::string& separator) {
  std::string list;
  for (const auto& choice : choices) list += (list.empty() ? "" : separator) + std::string(1, choice.letter) + ". " + choice.text;
  return list;
}

BenchmarkItem choice_item(bench::ChoiceQuestion& question, std::string prompt, const std::string& file,
                          std::vector<std::string>& problems) {
  BenchmarkItem item;
  item.key = question.id;
  item.question = std::move(prompt);
  item.images = tsv_images(question.image, file + ": " + question.id, problems);
  question.image.clear();
  question.image.shrink_to_fit();
  item.record = {{"question_id", id_value(question.id)}};
  return item;
}

nlohmann::ordered_json id_value(const std::string& id) {
  const bool integer = !id.empty() && id.size() < 19 && id.find_first_not_of("0123456789") == std::string::npos;
  return integer ? nlohmann::ordered_json(std::stoll(id)) : nlohmann::ordered_json(id);
}

std::vector<ItemImage> tsv_images(const std::string& cell, const std::string& where, std::vector<std::string>& problems) {
  std::vector<std::string> encoded;
  const auto start = cell.find_first_not_of(" \t\r\n");
  if (start == std::string::npos) return {ItemImage{}};  // no bytes: reported as missing when generated for
  if (cell[start] == '[') {
    // "['<base64>', '<base64>']": every quoted string, in order.
    for (auto open = cell.find_first_of("'\"", start); open != std::string::npos; open = cell.find_first_of("'\"", open)) {
      const auto close = cell.find(cell[open], open + 1);
      if (close == std::string::npos) {
        problems.push_back(where + ": image list with an unterminated quote");
        return {};
      }
      encoded.push_back(cell.substr(open + 1, close - open - 1));
      open = close + 1;
    }
    if (encoded.empty()) problems.push_back(where + ": image list without a quoted image");
  } else {
    encoded.push_back(cell);
  }
  std::vector<ItemImage> images;
  for (size_t i = 0; i < encoded.size(); ++i) {
    try {
      images.push_back({"", decode_base64(encoded[i])});
    } catch (const std::invalid_argument& e) {
      const auto which = encoded.size() > 1 ? " " + std::to_string(i + 1) : "";
      problems.push_back(where + ": image" + which + " is not valid base64: " + e.what());
      return {};
    }
  }
  return images;
}

}  // namespace items

}  // namespace trol
