// AI2D items: every row of VLMEvalKit's AI2D_TEST.tsv as the scorer reads it, the image
// decoded from base64. The prompt is the authors' ai2d_filtering (written for AI2D's own
// JSON): the question, then the options on one line, "A. x B. y ...", then the letter
// instruction (make_instruction).
#include "eval/items/item_readers.h"

namespace trol::items {

std::vector<BenchmarkItem> read_ai2d(const BenchmarkSource& source) {
  auto questions = bench::read_choice_tsv(source.data, {"index", "", {}, false, true});
  std::vector<std::string> problems;
  std::vector<BenchmarkItem> items;
  for (auto& q : questions) {
    auto prompt = q.question + "\n" + option_list(q.choices, " ") + "\n" + kOptionLetterInstruction;
    items.push_back(choice_item(q, std::move(prompt), source.data, problems));
  }
  if (!problems.empty()) throw BenchmarkFileError(source.data, problems);
  return items;
}

}  // namespace trol::items
