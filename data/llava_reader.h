// Reading LLaVA-format conversation datasets (JSON array or JSON Lines).
//
// A record is
//   {"id": "000000033471", "image": "coco/train2017/000000033471.jpg",
//    "conversations": [{"from": "human", "value": "<image>\nWhat is ..."}, {"from": "gpt", "value": "..."}]}
// where "image" is optional (text-only samples), a string or a list of strings, and "id" a
// string or a number (optional). A file whose first non-space character is '[' is read as one
// JSON array (streamed: records are converted as they are parsed, the array is never held
// whole); any other file, and every `.jsonl` file, as one record per line (blank lines ignored).
//
// Like LLaVA's preprocessing, a record with images but no `<image>` placeholder gets one
// "<image>\n" per image prepended to its first human turn. After that every record must pass
// conversation_problem(..., require_answer=true).
//
// A bad record (unparsable line, missing or mistyped field, no answer, placeholders that do not
// match the images, ...) is reported as "FILE:LINE: [INDEX] id 'ID': what is wrong" and skipped
// under OnError::Skip, or thrown as std::runtime_error under OnError::Fail. A file that cannot
// be opened, and a syntax error that breaks a JSON array file (nothing after it could be read),
// throw std::runtime_error in both modes, naming the file and the line/byte of the error.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/conversation.h"

namespace trol {

enum class OnError { Skip, Fail };

struct ReadReport {
  int64_t read = 0;                   // records kept (returned)
  int64_t skipped = 0;                // bad records left out (Skip)
  std::vector<std::string> problems;  // one message per bad record, in file order
};

// Conversations of one LLaVA-format file, in file order, with source_file/source_line (and
// source_index for arrays) set. `report` (optional) is filled in as the file is read; when
// the call throws it holds what was read up to the error.
std::vector<Conversation> read_llava_file(const std::string& path, OnError on_error, ReadReport* report = nullptr);

}  // namespace trol
