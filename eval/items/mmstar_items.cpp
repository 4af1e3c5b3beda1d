// MMStar items: every row of VLMEvalKit's MMStar.tsv as the scorer reads it, the image decoded
// from base64. The authors' mmstar_filtering takes MMStar's question as written -- it lists the
// options itself ("...\nOptions: A: x, B: y, ...") -- and make_instruction adds the letter
// instruction. A question without "Options:" (a TSV written without them) gets them the way
// the other multiple-choice benchmarks do, one "A. x" per line, so the model sees them.
#include "eval/benchmark_files.h"
#include "eval/items/item_readers.h"

namespace trol::items {

std::vector<BenchmarkItem> read_mmstar(const BenchmarkSource& source) {
  auto questions = bench::read_choice_tsv(source.data, {"index", "", {}, false, true});
  std::vector<std::string> problems;
  std::vector<BenchmarkItem> items;
  for (auto& q : questions) {
    const bool lists_options = q.question.find("Options:") != std::string::npos;
    auto prompt = lists_options ? q.question + "\n" + kOptionLetterInstruction
                                : q.question + "\n" + option_list(q.choices, "\n") + "\n" + kOptionLetterInstruction;
    items.push_back(choice_item(q, std::move(prompt), source.data, problems));
  }
  if (!problems.empty()) throw BenchmarkFileError(source.data, problems);
  return items;
}

}  // namespace trol::items
