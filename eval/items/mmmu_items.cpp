// MMMU items: every question of VLMEvalKit's MMMU_DEV_VAL.tsv as the scorer reads it (keyed by
// MMMU's id, else the TSV index), its images decoded from base64. The prompt is the authors'
// mmmu_filtering + make_instruction: the question as written, then the options on one line,
// "A. x B. y ...", then the letter instruction when the text holds "A." (else the short-answer
// one), with each image where the text first refers to it (replace_image_tokens).
#include <regex>
#include <set>

#include "data/conversation.h"
#include "eval/items/item_readers.h"

namespace trol::items {

namespace {

// The authors' replace_image_tokens: the first "<image N>" of each N becomes the image
// placeholder, later ones stay as text. The image placed is the cell's N-th (the authors take
// the first k images for k distinct references: the same whenever references come in order,
// as in MMMU). A question without references keeps its images leading the prompt.
void place_referenced_images(BenchmarkItem& item, const std::string& where, std::vector<std::string>& problems) {
  static const std::regex reference(R"(<image\s(\d+)>)");
  std::string text;
  std::vector<ItemImage> placed;
  std::set<std::string> seen;
  auto rest = item.question.cbegin();
  for (std::sregex_iterator it(item.question.cbegin(), item.question.cend(), reference), end; it != end; ++it) {
    const auto& match = *it;
    if (!seen.insert(match.str(0)).second) continue;
    const auto digits = match.str(1);
    const size_t n = digits.size() > 4 ? 0 : std::stoul(digits);
    if (n == 0 || n > item.images.size()) {
      problems.push_back(where + ": the question refers to " + match.str(0) + " but has " +
                         std::to_string(item.images.size()) + " image(s)");
      return;
    }
    text.append(rest, match[0].first);
    text += kImagePlaceholder;
    rest = match[0].second;
    placed.push_back(item.images[n - 1]);
  }
  if (placed.empty()) return;
  text.append(rest, item.question.cend());
  item.question = std::move(text);
  item.images = std::move(placed);
  item.images_in_question = true;
}

}  // namespace

std::vector<BenchmarkItem> read_mmmu(const BenchmarkSource& source) {
  bench::ChoiceTsvColumns columns;
  columns.id = "id";
  columns.id_fallback = "index";
  columns.open_allowed = true;
  columns.keep_text = true;
  auto questions = bench::read_choice_tsv(source.data, columns);
  std::vector<std::string> problems;
  std::vector<BenchmarkItem> items;
  for (auto& q : questions) {
    // Open questions have no options line (the authors join an empty one: a blank line).
    auto prompt = q.open ? q.question : q.question + "\n" + option_list(q.choices, " ");
    const bool letters = prompt.find("A.") != std::string::npos;
    prompt += "\n" + (letters ? kOptionLetterInstruction : kShortAnswerInstruction);
    const auto where = source.data + ": " + q.id;
    items.push_back(choice_item(q, std::move(prompt), source.data, problems));
    place_referenced_images(items.back(), where, problems);
  }
  if (!problems.empty()) throw BenchmarkFileError(source.data, problems);
  return items;
}

}  // namespace trol::items
