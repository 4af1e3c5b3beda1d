// What the benchmarks' file readers share: the error a bad file raises (naming file:line for
// every bad line at once), pandas-style TSV tables (MMBench and VLMEvalKit's TSVs), base64
// images, LLaVA's prompts, and MMBench's TSV rows (which both its item reader and its scorer
// read). Nothing is skipped silently, nothing crashes.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "data/conversation.h"

namespace trol {

// kShortAnswerInstruction and kOptionLetterInstruction come from data/conversation.h.

// A benchmark file that cannot be read: missing, or with bad lines. what() names the file and,
// for each bad line, file:line and the problem; `problems` holds one such line each.
class BenchmarkFileError : public std::runtime_error {
 public:
  BenchmarkFileError(const std::string& file, std::vector<std::string> problems);
  std::vector<std::string> problems;
};

// One question of an MMBench TSV.
struct MmbenchRow {
  std::string id;                     // the index column, as text
  std::string prompt;                 // the user turn (below), without the image placeholder
  std::string answer;                 // the letter of a present option
  std::vector<std::string> options;   // the option texts in letter order (A, B, ...)
  std::vector<uint8_t> image_bytes;   // the encoded image, decoded from the base64 column
};

// MMBench's TSV: a header naming the columns index, question, hint, A, B, C, D, answer,
// category, image (any order, extra columns ignored), one question per record, the image as
// base64-encoded bytes; fields double-quoted as pandas writes them. The prompt is LLaVA's
// (model_vqa_mmbench.py with --single-pred-prompt), the TroL authors' too:
//   [hint "\n"] question "\nA. " A "\nB. " B ... "\n" kOptionLetterInstruction
// A hint or option counts as absent when it is empty, "nan" or "none" (any case), as LLaVA's
// is_none() decides; options end at the first absent one, and an option after a gap is an
// error (LLaVA would drop it silently). The answer must be the letter of a present option.
std::vector<MmbenchRow> read_mmbench_tsv(const std::string& file);

// A TSV file as pandas' read_table sees one: the first record names the columns. Fields that
// start with '"' are quoted as pandas writes them (tabs, newlines and "" for a quote inside);
// blank lines are skipped. The benchmark readers (MMBench here, the VLMEvalKit TSVs of
// eval/benchmarks/) check the fields they need.
struct TsvRecord {
  int64_t line = 0;  // where the record starts (a quoted field may span lines)
  std::vector<std::string> fields;
};
struct TsvTable {
  std::string file;
  TsvRecord header;
  std::map<std::string, size_t> column;  // column name (surrounding whitespace trimmed) -> position
  std::vector<TsvRecord> rows;           // the records after the header
  // "N fields, but the header has M" when `record` has the wrong number of fields, else "".
  std::string field_count_problem(const TsvRecord& record) const;
};

// Reads a TSV file; throws BenchmarkFileError when it cannot be read, is empty, or a quoted
// field is never closed (naming file:line).
TsvTable read_tsv_table(const std::string& file);

// LLaVA's short-answer prompt: text + "\n" + kShortAnswerInstruction (text that already ends
// with the instruction, as LLaVA's own question files do, is taken as it is).
std::string short_answer_prompt(const std::string& text);

// The multiple-choice prompt of LLaVA's MMBench script and the TroL authors' evaluation:
//   [hint "\n"] question "\nA. " options[0] "\nB. " options[1] ... "\n" kOptionLetterInstruction
// (no hint line when `hint` is empty).
std::string multiple_choice_prompt(const std::string& hint, const std::string& question,
                                   const std::vector<std::string>& options);

// Standard base64 (RFC 4648 alphabet, '=' padding; ASCII whitespace between characters is
// ignored, as in line-wrapped base64). Throws std::invalid_argument naming the first bad
// character's offset, or a bad length or padding.
std::vector<uint8_t> decode_base64(const std::string& text);

}  // namespace trol
