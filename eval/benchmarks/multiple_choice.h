// What the multiple-choice benchmarks share (AI2D, SEED-IMG, MMStar, MMMU's choice questions):
// questions read from VLMEvalKit's TSV distributions, VLMEvalKit's rule-based option matching,
// and accuracy overall and per group (category, l2-category, split), as VLMEvalKit's
// report_acc computes it.
//
// VLMEvalKit TSV (AI2D_TEST.tsv, SEEDBench_IMG.tsv, MMStar.tsv, MMMU_DEV_VAL.tsv): a header
// naming the columns, among them index, question, A, B, ... (one column per option letter),
// answer (the letter) and the grouping columns (category, l2-category, split); image (base64)
// and any others are ignored. Read by read_tsv_table (eval/benchmark_files.h). An option
// cell counts as absent as pandas' read_csv decides NaN by default: empty, "nan", "NaN",
// "None", "NULL", "null", "NA", "N/A", "n/a", "<NA>", "#N/A", "-nan", ... (so an option that
// reads "None" is absent, as it is for VLMEvalKit).
#pragma once

#include <string>
#include <vector>

#include "eval/benchmarks/score_common.h"

namespace trol::bench {

struct Choice {
  char letter = 'A';
  std::string text;
};

struct ChoiceQuestion {
  std::string id;                       // what predictions name it by
  int64_t line = 0;                     // where it starts in its file
  std::vector<Choice> choices;          // present options, in letter order (gaps allowed, as VLMEvalKit's build_choices)
  std::string answer;                   // the right letter (MMMU open questions: the answer text)
  bool open = false;                    // MMMU: a question without options, scored by its open-answer rule
  std::map<std::string, std::string> groups;  // grouping column -> value, for the per-group accuracies
  std::string question;                 // with keep_text: the question as written ("" otherwise)
  std::string image;                    // with keep_text: the image cell (TSV: base64; SEED-Bench.json: data_id)
};

struct ChoiceTsvColumns {
  std::string id = "index";             // the column predictions name questions by
  std::string id_fallback;              // used when the TSV has no `id` column (MMMU: id, else index)
  std::vector<std::string> groups;      // grouping columns to keep when present (e.g. category, l2-category)
  bool open_allowed = false;            // MMMU: a row without options is an open question, its answer free text
  bool keep_text = false;               // item readers: keep the question and image columns (scoring needs neither)
};

// pandas' default NaN strings (read_csv na_values), which VLMEvalKit's TSV loading applies.
bool pandas_reads_nan(const std::string& cell);

// Reads a VLMEvalKit multiple-choice TSV. Every bad row is collected and thrown as one
// BenchmarkFileError naming file:line: a wrong field count, an empty or repeated id, fewer
// than two options (unless open_allowed), an answer that is not the letter of an option.
// With keep_text, the question column is required too.
std::vector<ChoiceQuestion> read_choice_tsv(const std::string& file, const ChoiceTsvColumns& columns);

// VLMEvalKit's TSVs store a repeated image once: an image cell of at most 64 characters names
// the index of the row holding it (ImageBaseDataset's image_map). Replaces such cells of
// `images` (images[i] the cell of the row with index indices[i]) by the cell they name when
// that one is longer; other cells are left as they are.
void resolve_tsv_image_references(const std::vector<std::string>& indices, const std::vector<std::string*>& images);

// VLMEvalKit's can_infer (vlmeval/utils/matching_util.py), the rule its multiple-choice
// evaluation applies before (and, with the exact_matching judge, instead of) asking GPT:
//   can_infer_option:
//     - "Failed to obtain answer via API" in the answer: no letter;
//     - one of the refusals ("Sorry, I can't help with images of people yet.", "I can't
//       process this file.", "I'm sorry, but without the image provided", "Cannot determine
//       the answer") anywhere in it: "Z" (an answer, always wrong);
//     - the characters . ( ) [ ] , : ; ! * # { } become spaces, the text is split on
//       whitespace; if exactly one option letter is a word, it is the answer when its first
//       occurrence is among the last four words ("B", "(B)", "The answer is B." give B;
//       "B is right because the cat sits on the mat" does not); if no option letter is a word
//       and "Z" is, "Z";
//     - else the first "answer is X" (case-insensitive, optionally "correct answer is",
//       optionally X in **bold**), X one of A-D any case, uppercased, when it is an option;
//   can_infer_text (when can_infer_option found nothing): the answer lowercased, unless it is
//     longer than twice the options' total length, contains the lowercased text of exactly one
//     option: that letter.
// This is can_infer as of VLMEvalKit e8e78f05 (2026-08). Older versions read more answers:
// before #1175 (2025-08) a lone letter counted wherever it stood and the text rule had no
// length limit (the rule MMBench's extract_option_letter, eval/answer_scoring.h, follows);
// before #1552 (2026-06) there was no "answer is X" rule. Numbers from those years can
// therefore differ slightly on verbose answers.
// Returns the letter, "Z", or "" when neither rule reads the answer. Lowercasing and lengths
// are ASCII / UTF-8 code points here, Unicode in Python; the same for ASCII answers. The
// VERBOSE-only "A might be a quantifier" check is not applied (VLMEvalKit's default).
std::string vlmevalkit_can_infer(const std::string& answer, const std::vector<Choice>& choices);

// Scores letter answers: the official rule is vlmevalkit_can_infer; with --scoring trol,
// `trol_rule(answer, question)` (and `trol_note` is added to the notes). A rule's "" means it
// cannot read the answer: wrong, counted unparsable; "Z" (a refusal) is wrong. Predictions are
// keyed by question_id. Metrics: accuracy and questions overall, then for each grouping column
// present {"<column>": {"<value>": {"accuracy", "questions"}}}.
using LetterRule = std::string (*)(const std::string& answer, const ChoiceQuestion& question);
ScoreReport score_choice_questions(const std::string& benchmark, const ScoreRequest& request,
                                   std::vector<ChoiceQuestion> questions,
                                   const std::vector<std::string>& group_columns, LetterRule trol_rule,
                                   const std::string& trol_note);

// Accuracy overall and per group value: {"accuracy", "questions", "<column>": {"<value>":
// {"accuracy", "questions"}}}; right[i] answers questions[i].
nlohmann::ordered_json accuracy_by_group(const std::vector<ChoiceQuestion>& questions, const std::vector<bool>& right,
                                         const std::vector<std::string>& group_columns);

}  // namespace trol::bench
