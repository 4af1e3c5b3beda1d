// Readers for the evaluation splits of the built-in dataset, in the public benchmarks' own
// file formats, so the same readers serve the real POPE, VQA-style and MMBench files:
//
//   DIR/eval/pope_{random,popular,adversarial}.jsonl  POPE: one JSON object per line,
//       {"question_id": 3, "image": "eval/000012.png", "text": "Is there a ...?", "label": "yes"}
//   DIR/eval/vqa.jsonl  short-answer questions, one JSON object per line,
//       {"question_id": 7, "image": "eval/000003.png", "text": "What colour ...?", "answer": "red",
//        "category": "colour"}
//   DIR/eval/mmbench.tsv  MMBench's TSV: a header naming the columns index, question, hint,
//       A, B, C, D, answer, category, image (any order, extra columns ignored), one question per
//       record, the image as base64-encoded bytes. Fields may be double-quoted as pandas writes
//       them (a quoted field may hold tabs, newlines and "" for a quote).
//
// Images named by the JSONL files are relative to `image_root` (the built-in dataset keeps
// them under DIR/images). The questions become prompts the way LLaVA's evaluation scripts
// build them (see `question` below), so scores are comparable with published numbers.
//
// Every bad line is an error naming file:line; a reader checks the whole file and throws one
// BenchmarkFileError listing every problem (nothing is skipped silently, nothing crashes).
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "data/conversation.h"

namespace trol {

// kShortAnswerInstruction and kOptionLetterInstruction come from data/conversation.h.

struct EvalItem {
  std::string benchmark;                // pope_random | pope_popular | pope_adversarial | vqa | mmbench
  std::string id;                       // question_id (JSONL) or index (TSV), as text
  std::string kind;                     // what accuracy is reported per: the POPE split name, the VQA
                                        // category, or "multiple_choice" for MMBench
  std::string question;                 // the user turn exactly as it goes into the prompt (without the image token)
  std::string answer;                   // canonical answer: "yes"/"no", the VQA answer, or an option letter
  std::string image_path;               // absolute path of the image file, or empty
  std::vector<uint8_t> image_bytes;     // the encoded image itself (TSV benchmarks), or empty
  std::vector<std::string> options;     // MMBench option texts in letter order (A, B, ...), else empty
};

// A benchmark file that cannot be read: missing, or with bad lines. what() names the file and,
// for each bad line, file:line and the problem; `problems` holds one such line each.
class BenchmarkFileError : public std::runtime_error {
 public:
  BenchmarkFileError(const std::string& file, std::vector<std::string> problems);
  std::vector<std::string> problems;
};

// POPE questions of one split ("random", "popular", "adversarial"): benchmark "pope_<split>",
// kind = split, question = text + "\n" + kShortAnswerInstruction (unless the text already
// ends with it), answer = label lowercased, which must be "yes" or "no". Every line needs
// question_id (number or string, unique in the file), image, text and label; an image that
// does not exist under `image_root` is an error too, found now rather than mid-evaluation.
std::vector<EvalItem> read_pope(const std::string& file, const std::string& image_root, const std::string& split);

// Short-answer questions: benchmark "vqa", kind = category, question as for POPE, answer as
// written (scoring normalises both sides, see answer_scoring.h). Every line needs
// question_id, image, text, answer and category, checked as for POPE.
std::vector<EvalItem> read_vqa(const std::string& file, const std::string& image_root);

// MMBench questions: benchmark "mmbench", kind "multiple_choice", image_bytes decoded from the
// base64 column. The prompt is LLaVA's (model_vqa_mmbench.py with --single-pred-prompt):
//   [hint "\n"] question "\nA. " A "\nB. " B ... "\n" kOptionLetterInstruction
// A hint or option counts as absent when it is empty, "nan" or "none" (any case), as LLaVA's
// is_none() decides; options end at the first absent one, and an option after a gap is an
// error (LLaVA would drop it silently). The answer must be the letter of a present option.
std::vector<EvalItem> read_mmbench_tsv(const std::string& file);

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
