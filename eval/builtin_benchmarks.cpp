#include "eval/builtin_benchmarks.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <utility>

#include "eval/benchmarks/score_common.h"
#include "trol/string_affixes.h"

namespace trol {
namespace {

using nlohmann::json;

std::string describe_problems(const std::string& file, const std::vector<std::string>& problems) {
  if (problems.size() == 1) return problems.front();
  // Enough to fix a file in one go without flooding the terminal on a wholly wrong file.
  const size_t shown = std::min<size_t>(problems.size(), 20);
  std::string message = file + ": " + std::to_string(problems.size()) + " problems";
  for (size_t i = 0; i < shown; ++i) message += "\n  " + problems[i];
  if (shown < problems.size()) message += "\n  ... and " + std::to_string(problems.size() - shown) + " more";
  return message;
}

// Collects "file:line: what" messages while a file is read, so every bad line is reported at
// once, in line order (a file is checked in passes: syntax first, then fields).
class Problems {
 public:
  explicit Problems(std::string file) : file_(std::move(file)) {}
  void add(int64_t line, const std::string& what) {
    list_.emplace_back(line, file_ + ":" + std::to_string(line) + ": " + what);
  }
  void throw_if_any() const {
    if (list_.empty()) return;
    auto sorted = list_;
    std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<std::string> messages;
    for (auto& entry : sorted) messages.push_back(std::move(entry.second));
    throw BenchmarkFileError(file_, std::move(messages));
  }

 private:
  std::string file_;
  std::vector<std::pair<int64_t, std::string>> list_;
};

std::string read_whole_file(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw BenchmarkFileError(file, {file + ": cannot open the file (missing or unreadable)"});
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

using bench::lowercase;


// ---- JSONL -------------------------------------------------------------------------------

struct JsonLine {
  int64_t line;
  json object;
};

// Every non-blank line parsed as a JSON object; any other line becomes a problem.
std::vector<JsonLine> read_jsonl(const std::string& file, Problems& problems) {
  std::stringstream in(read_whole_file(file));
  std::vector<JsonLine> lines;
  std::string text;
  for (int64_t line = 1; std::getline(in, text); ++line) {
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.find_first_not_of(" \t") == std::string::npos) continue;
    json object = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (object.is_discarded()) {
      problems.add(line, "not valid JSON");
    } else if (!object.is_object()) {
      problems.add(line, "expected a JSON object, got " + std::string(object.type_name()));
    } else {
      lines.push_back({line, std::move(object)});
    }
  }
  return lines;
}

// A non-empty string field; numbers are accepted (as text) only where `number_ok`, for ids.
std::optional<std::string> text_field(const JsonLine& record, const char* name, Problems& problems,
                                      bool number_ok = false) {
  const auto it = record.object.find(name);
  if (it == record.object.end()) {
    problems.add(record.line, std::string("missing field '") + name + "'");
    return std::nullopt;
  }
  if (number_ok && it->is_number_integer()) return it->dump();
  if (!it->is_string()) {
    problems.add(record.line, std::string("field '") + name + "' must be a " + (number_ok ? "string or integer" : "string") +
                                  ", got " + it->type_name());
    return std::nullopt;
  }
  auto value = it->get<std::string>();
  if (value.empty()) {
    problems.add(record.line, std::string("field '") + name + "' is empty");
    return std::nullopt;
  }
  return value;
}

// The image's absolute path, if the file exists.
std::optional<std::string> image_file(const std::string& image_root, const std::string& image, int64_t line,
                                      Problems& problems) {
  const auto path = std::filesystem::absolute(std::filesystem::path(image_root) / image).lexically_normal();
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) {
    problems.add(line, "image '" + image + "' not found (looked for " + path.string() + ")");
    return std::nullopt;
  }
  return path.string();
}

// Ids key the predictions, so a repeated id would silently overwrite an answer.
class UniqueIds {
 public:
  bool insert(const std::string& id, int64_t line, Problems& problems) {
    const auto [it, fresh] = first_line_.emplace(id, line);
    if (!fresh) problems.add(line, "id " + id + " repeats the id of line " + std::to_string(it->second));
    return fresh;
  }

 private:
  std::map<std::string, int64_t> first_line_;
};

// The fields POPE and the VQA file share: question_id, image, text.
struct QuestionFields {
  std::string id, image_path, text;
};

std::optional<QuestionFields> question_fields(const JsonLine& record, const std::string& image_root,
                                              UniqueIds& ids, Problems& problems) {
  const auto id = text_field(record, "question_id", problems, /*number_ok=*/true);
  const auto image = text_field(record, "image", problems);
  const auto text = text_field(record, "text", problems);
  std::optional<std::string> path;
  if (image) path = image_file(image_root, *image, record.line, problems);
  const bool unique = id && ids.insert(*id, record.line, problems);
  if (!unique || !path || !text) return std::nullopt;
  return QuestionFields{*id, *path, *text};
}

// ---- TSV ---------------------------------------------------------------------------------

// Splits TSV text into records. A field that starts with '"' is quoted, as pandas writes
// fields holding tabs, newlines or quotes: it runs to the next lone '"', and "" in it is one
// quote. Blank lines are skipped; an unterminated quote is a problem at the line it opened.
std::vector<TsvRecord> split_tsv(const std::string& text, Problems& problems) {
  std::vector<TsvRecord> records;
  TsvRecord record{1, {}};
  std::string field;
  bool in_quotes = false, at_field_start = true;
  int64_t line = 1, quote_line = 0;
  const auto end_field = [&] {
    record.fields.push_back(std::move(field));
    field.clear();
    at_field_start = true;
  };
  const auto end_record = [&] {
    end_field();
    const bool blank = record.fields.size() == 1 && record.fields[0].empty();
    if (!blank) records.push_back(std::move(record));
    record = TsvRecord{line + 1, {}};
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_quotes) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        in_quotes = false;
      } else {
        if (c == '\n') ++line;
        field += c;
      }
    } else if (c == '"' && at_field_start) {
      in_quotes = true;
      quote_line = line;
      at_field_start = false;
    } else if (c == '\t') {
      end_field();
    } else if (c == '\n' || (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n')) {
      if (c == '\r') ++i;
      end_record();
      ++line;
    } else {
      field += c;
      at_field_start = false;
    }
  }
  if (in_quotes) {
    problems.add(quote_line, "a quoted field opened here is never closed");
  } else if (!field.empty() || !record.fields.empty()) {
    end_record();
  }
  return records;
}

// LLaVA's is_none(): pandas writes a missing cell as an empty field or "nan".
bool is_absent(const std::string& value) {
  const auto lower = lowercase(value);
  return lower.empty() || lower == "nan" || lower == "none";
}

std::string trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
}

}  // namespace

BenchmarkFileError::BenchmarkFileError(const std::string& file, std::vector<std::string> problems_)
    : std::runtime_error(describe_problems(file, problems_)), problems(std::move(problems_)) {}

std::vector<EvalItem> read_pope(const std::string& file, const std::string& image_root, const std::string& split) {
  if (split.empty()) throw std::invalid_argument("read_pope: the split name is empty");
  Problems problems(file);
  UniqueIds ids;
  std::vector<EvalItem> items;
  for (const auto& record : read_jsonl(file, problems)) {
    const auto question = question_fields(record, image_root, ids, problems);
    auto label = text_field(record, "label", problems);
    if (label) {
      label = lowercase(*label);
      if (*label != "yes" && *label != "no") {
        problems.add(record.line, "label must be \"yes\" or \"no\", got \"" + *label + "\"");
        label.reset();
      }
    }
    if (!question || !label) continue;
    EvalItem item;
    item.benchmark = "pope_" + split;
    item.id = question->id;
    item.kind = split;
    item.question = short_answer_prompt(question->text);
    item.answer = *label;
    item.image_path = question->image_path;
    items.push_back(std::move(item));
  }
  problems.throw_if_any();
  return items;
}

std::vector<EvalItem> read_vqa(const std::string& file, const std::string& image_root) {
  Problems problems(file);
  UniqueIds ids;
  std::vector<EvalItem> items;
  for (const auto& record : read_jsonl(file, problems)) {
    const auto question = question_fields(record, image_root, ids, problems);
    const auto answer = text_field(record, "answer", problems);
    const auto category = text_field(record, "category", problems);
    if (!question || !answer || !category) continue;
    EvalItem item;
    item.benchmark = "vqa";
    item.id = question->id;
    item.kind = *category;
    item.question = short_answer_prompt(question->text);
    item.answer = *answer;
    item.image_path = question->image_path;
    items.push_back(std::move(item));
  }
  problems.throw_if_any();
  return items;
}

TsvTable read_tsv_table(const std::string& file) {
  Problems problems(file);
  auto records = split_tsv(read_whole_file(file), problems);
  problems.throw_if_any();  // an unclosed quote swallows the rest: nothing after it is trustworthy
  if (records.empty()) throw BenchmarkFileError(file, {file + ":1: empty file, expected a header line"});
  TsvTable table;
  table.file = file;
  table.header = std::move(records.front());
  // Columns by name, as pandas reads them: order does not matter, extra columns are ignored.
  for (size_t i = 0; i < table.header.fields.size(); ++i) table.column.emplace(trim(table.header.fields[i]), i);
  table.rows.assign(std::make_move_iterator(records.begin() + 1), std::make_move_iterator(records.end()));
  return table;
}

std::string TsvTable::field_count_problem(const TsvRecord& record) const {
  if (record.fields.size() == header.fields.size()) return "";
  return std::to_string(record.fields.size()) + " fields, but the header has " + std::to_string(header.fields.size());
}

std::vector<EvalItem> read_mmbench_tsv(const std::string& file) {
  const auto table = read_tsv_table(file);
  Problems problems(file);
  const auto& header = table.header;
  const auto& column = table.column;
  std::vector<std::string> letters;  // option columns: A, B, C, ... up to the first one missing
  for (char letter = 'A'; letter <= 'Z' && column.count(std::string(1, letter)); ++letter) {
    letters.emplace_back(1, letter);
  }
  std::vector<std::string> missing;
  for (const char* name : {"index", "question", "answer", "image", "A", "B"}) {
    if (!column.count(name)) missing.push_back(name);
  }
  if (!missing.empty()) {
    std::string names;
    for (const auto& name : missing) names += (names.empty() ? "" : ", ") + name;
    problems.add(header.line, "the header lacks the column(s) " + names);
    problems.throw_if_any();
  }
  const bool has_hint = column.count("hint") > 0;

  UniqueIds ids;
  std::vector<EvalItem> items;
  for (const auto& record : table.rows) {
    if (const auto wrong = table.field_count_problem(record); !wrong.empty()) {
      problems.add(record.line, wrong);
      continue;
    }
    const auto field = [&](const std::string& name) -> const std::string& { return record.fields[column.at(name)]; };
    bool ok = true;
    const auto fail = [&](const std::string& what) {
      problems.add(record.line, what);
      ok = false;
    };

    EvalItem item;
    item.benchmark = "mmbench";
    item.kind = "multiple_choice";
    item.id = trim(field("index"));
    if (item.id.empty()) fail("empty index");
    else if (!ids.insert(item.id, record.line, problems)) ok = false;
    if (field("question").empty()) fail("empty question");

    // Options run to the first absent one, as LLaVA reads them; a later option would be lost.
    std::string gap;
    for (const auto& letter : letters) {
      const auto& text = field(letter);
      if (is_absent(text)) {
        if (gap.empty()) gap = letter;
      } else if (!gap.empty()) {
        fail("option " + letter + " is given but option " + gap + " is empty");
      } else {
        item.options.push_back(text);
      }
    }
    if (ok && item.options.size() < 2) fail("fewer than two options");

    const auto answer = trim(field("answer"));
    const bool answer_is_letter = answer.size() == 1 && answer[0] >= 'A' &&
                                  answer[0] < static_cast<char>('A' + item.options.size());
    if (!answer_is_letter) fail("answer \"" + answer + "\" is not the letter of one of the options");
    item.answer = answer;

    try {
      item.image_bytes = decode_base64(field("image"));
      if (item.image_bytes.empty()) fail("empty image");
    } catch (const std::invalid_argument& e) {
      fail(std::string("image is not valid base64: ") + e.what());
    }
    if (!ok) continue;

    // LLaVA's model_vqa_mmbench.py, English, --single-pred-prompt.
    item.question = multiple_choice_prompt(has_hint && !is_absent(field("hint")) ? field("hint") : "", field("question"),
                                           item.options);
    items.push_back(std::move(item));
  }
  problems.throw_if_any();
  return items;
}

std::string short_answer_prompt(const std::string& text) {
  if (ends_with(text, kShortAnswerInstruction)) return text;
  return text + "\n" + kShortAnswerInstruction;
}

std::string multiple_choice_prompt(const std::string& hint, const std::string& question,
                                   const std::vector<std::string>& options) {
  std::string prompt = hint.empty() ? question : hint + "\n" + question;
  for (size_t i = 0; i < options.size(); ++i) prompt += "\n" + std::string(1, static_cast<char>('A' + i)) + ". " + options[i];
  return prompt + "\n" + kOptionLetterInstruction;
}

std::vector<uint8_t> decode_base64(const std::string& text) {
  const auto value_of = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::vector<uint8_t> bytes;
  bytes.reserve(text.size() / 4 * 3);
  uint32_t buffer = 0;
  int buffered_bits = 0;
  size_t symbols = 0, padding = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (std::isspace(static_cast<unsigned char>(c))) continue;
    if (c == '=') {
      ++padding;
      continue;
    }
    const int value = value_of(c);
    if (value < 0 || padding > 0) {
      if (value >= 0) throw std::invalid_argument("data after '=' padding at offset " + std::to_string(i));
      char shown[8];
      std::snprintf(shown, sizeof shown, std::isprint(static_cast<unsigned char>(c)) ? "'%c'" : "0x%02x",
                    static_cast<unsigned char>(c));
      throw std::invalid_argument(std::string("character ") + shown + " at offset " + std::to_string(i) +
                                  " is not base64");
    }
    buffer = (buffer << 6) | static_cast<uint32_t>(value);
    buffered_bits += 6;
    ++symbols;
    if (buffered_bits >= 8) {
      buffered_bits -= 8;
      bytes.push_back(static_cast<uint8_t>((buffer >> buffered_bits) & 0xFF));
    }
  }
  // Every 4 symbols carry 3 bytes; a last group of 2 or 3 symbols is padded to 4 with '='.
  const size_t expected_padding = (4 - symbols % 4) % 4;
  if (symbols % 4 == 1) throw std::invalid_argument("truncated: " + std::to_string(symbols) + " symbols");
  if (padding != expected_padding) {
    throw std::invalid_argument("bad padding: " + std::to_string(padding) + " '=' after " + std::to_string(symbols) +
                                " symbols, expected " + std::to_string(expected_padding));
  }
  return bytes;
}

}  // namespace trol
