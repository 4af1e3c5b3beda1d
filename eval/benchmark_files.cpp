#include "eval/benchmark_files.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <utility>

#include "eval/benchmarks/score_common.h"
#include "trol/string_affixes.h"

namespace trol {
namespace {

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

std::vector<MmbenchRow> read_mmbench_tsv(const std::string& file) {
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

  std::map<std::string, int64_t> first_line;  // ids key the predictions: a repeat would overwrite an answer
  std::vector<MmbenchRow> items;
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

    MmbenchRow item;
    item.id = trim(field("index"));
    if (item.id.empty()) {
      fail("empty index");
    } else if (const auto [it, fresh] = first_line.emplace(item.id, record.line); !fresh) {
      fail("id " + item.id + " repeats the id of line " + std::to_string(it->second));
    }
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
    item.prompt = multiple_choice_prompt(has_hint && !is_absent(field("hint")) ? field("hint") : "", field("question"),
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
