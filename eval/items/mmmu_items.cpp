// MMMU items: every question of VLMEvalKit's MMMU_DEV_VAL.tsv as the scorer reads it (keyed by
// MMMU's id, else the TSV index), the first image decoded from base64. The prompt is the
// authors' mmmu_filtering + make_instruction: the question as written, then the options on one
// line, "A. x B. y ...", then the letter instruction when the text holds "A." (else the
// short-answer one). The authors put each "<image N>" reference where its image goes; here the
// one image leads the prompt and the references stay as text (as VLMEvalKit asks models
// without interleaved images).
#include "eval/items/item_readers.h"

namespace trol::items {

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
    items.push_back(choice_item(q, std::move(prompt), source.data, problems));
  }
  if (!problems.empty()) throw BenchmarkFileError(source.data, problems);
  return items;
}

}  // namespace trol::items
