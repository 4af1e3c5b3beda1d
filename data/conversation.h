// A conversation as LLaVA-style datasets hold it, and what makes one well formed.
//
// Turns are kept as the data spells them ("human"/"user", "gpt"/"assistant", an optional
// leading "system"); images are placed in the text by `<image>` placeholders, one per image,
// in human turns only. Readers check records with conversation_problem() so a bad record is
// reported where it was read (file:line), and the chat template checks again before encoding.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace trol {

// Where an image goes in a human turn's text.
inline const std::string kImagePlaceholder = "<image>";

// The answer-format instructions of LLaVA-1.5's (and TroL's) prompts. Training data and the
// evaluation readers must spell them identically, so both take them from here.
// Appended to short-answer questions (LLaVA's POPE and VQA question files carry it), so the
// model answers in a word that exact-match scoring can read.
inline const std::string kShortAnswerInstruction = "Answer the question using a single word or phrase.";
// Appended after multiple-choice options (LLaVA's MMBench evaluation, --single-pred-prompt).
inline const std::string kOptionLetterInstruction = "Answer with the option's letter from the given choices directly.";

struct Turn {
  std::string from;   // human | user | gpt | assistant | system
  std::string value;
};

struct Conversation {
  std::string id;
  std::vector<std::string> images;  // paths as the dataset gives them, in placeholder order
  std::vector<Turn> turns;
  std::string source_file;          // for messages: where the record was read ("" if not from a file)
  int64_t source_line = 0;          // 1-based; 0 when unknown
  int64_t source_index = -1;        // position in a JSON array file (a minified one is all line 1)
};

enum class Role { System, Human, Gpt };

// "human"/"user" -> Human, "gpt"/"assistant" -> Gpt, "system" -> System; nullopt otherwise.
std::optional<Role> role_of(const std::string& from);

// Non-overlapping occurrences of `needle` in `text` (0 for an empty needle).
int64_t count_occurrences(const std::string& text, const std::string& needle);

// What is wrong with the conversation's structure, or "" when it is well formed:
// - at least one turn; every role known; "system" only as the first turn;
// - after it, human and gpt turns alternate, starting with human;
// - `<image>` placeholders only in human turns, as many as there are images; no empty image path;
// - with `require_answer` (training): the last turn is a gpt turn, and at least one gpt turn
//   has a non-empty value ("conversation without an answer").
// Turn numbers in the message are indices into the dataset's "conversations" list.
std::string conversation_problem(const Conversation& conversation, bool require_answer);

// "conversation 'ID' (FILE:LINE, record [INDEX])": how messages name a conversation (the parts
// not known are left out).
std::string describe(const Conversation& conversation);

}  // namespace trol
