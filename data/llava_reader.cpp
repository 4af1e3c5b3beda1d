#include "data/llava_reader.h"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "trol/string_affixes.h"

namespace trol {

namespace {

using json = nlohmann::json;

std::string type_of(const json& value) {
  if (value.is_null()) return "null";
  if (value.is_number()) return "a number";
  if (value.is_boolean()) return "a boolean";
  if (value.is_string()) return "a string";
  if (value.is_array()) return "a list";
  return "an object";
}

// nlohmann's message without its "[json.exception.parse_error.101] " prefix.
std::string parse_message(const json::parse_error& e) {
  std::string message = e.what();
  const auto bracket = message.find("] ");
  return bracket == std::string::npos ? message : message.substr(bracket + 2);
}

// Fills `out` from one record; returns what is wrong with it, or "".
std::string convert_record(const json& record, Conversation& out) {
  if (!record.is_object()) return "expected a JSON object, got " + type_of(record);

  if (const auto id = record.find("id"); id != record.end()) {
    if (id->is_string()) {
      out.id = id->get<std::string>();
    } else if (id->is_number_integer()) {
      out.id = id->dump();
    } else {
      return "id: expected a string or an integer, got " + type_of(*id);
    }
  }

  if (const auto image = record.find("image"); image != record.end() && !image->is_null()) {
    if (image->is_string()) {
      out.images.push_back(image->get<std::string>());
    } else if (image->is_array()) {
      for (size_t i = 0; i < image->size(); ++i) {
        const auto& item = (*image)[i];
        if (!item.is_string()) return "image[" + std::to_string(i) + "]: expected a string, got " + type_of(item);
        out.images.push_back(item.get<std::string>());
      }
    } else {
      return "image: expected a string or a list of strings, got " + type_of(*image);
    }
  }

  const auto turns = record.find("conversations");
  if (turns == record.end()) return "missing 'conversations'";
  if (!turns->is_array()) return "conversations: expected a list, got " + type_of(*turns);
  for (size_t i = 0; i < turns->size(); ++i) {
    const auto& turn = (*turns)[i];
    const std::string where = "conversations[" + std::to_string(i) + "]";
    if (!turn.is_object()) return where + ": expected an object, got " + type_of(turn);
    Turn t;
    for (const auto& [key, field] : {std::pair<const char*, std::string*>{"from", &t.from}, {"value", &t.value}}) {
      const auto value = turn.find(key);
      if (value == turn.end()) return where + ": missing '" + key + "'";
      if (!value->is_string()) return where + "." + key + ": expected a string, got " + type_of(*value);
      *field = value->get<std::string>();
    }
    out.turns.push_back(std::move(t));
  }

  // LLaVA's convention: an image without a placeholder goes before the first question.
  int64_t placeholders = 0;
  for (const auto& turn : out.turns) placeholders += count_occurrences(turn.value, kImagePlaceholder);
  if (!out.images.empty() && placeholders == 0) {
    for (auto& turn : out.turns) {
      if (role_of(turn.from) != Role::Human) continue;
      std::string prefix;
      for (size_t i = 0; i < out.images.size(); ++i) prefix += kImagePlaceholder + "\n";
      turn.value = prefix + turn.value;
      break;
    }
  }
  return conversation_problem(out, /*require_answer=*/true);
}

// Collects good records and handles bad ones per the policy.
class Collector {
 public:
  Collector(std::string path, OnError on_error, ReadReport* report)
      : path_(std::move(path)), on_error_(on_error), report_(report ? report : &own_report_) {}

  void add(const json& record, int64_t line, int64_t index) {
    Conversation c;
    c.source_file = path_;
    c.source_line = line;
    c.source_index = index;  // -1 for JSONL
    const auto problem = convert_record(record, c);
    if (problem.empty()) {
      conversations_.push_back(std::move(c));
      ++report_->read;
      return;
    }
    std::string label = index >= 0 ? " [" + std::to_string(index) + "]" : "";
    if (!c.id.empty()) label += " id '" + c.id + "'";
    bad(where(line) + (label.empty() ? "" : ":" + label) + ": " + problem);
  }

  void bad(const std::string& message) {
    report_->problems.push_back(message);
    if (on_error_ == OnError::Fail) throw std::runtime_error(message);
    ++report_->skipped;
  }

  // "FILE:LINE" ("FILE:?" when the line is unknown).
  std::string where(int64_t line) const { return path_ + ":" + (line > 0 ? std::to_string(line) : std::string("?")); }

  std::vector<Conversation> take() { return std::move(conversations_); }

 private:
  std::string path_;
  OnError on_error_;
  ReadReport own_report_;
  ReadReport* report_;
  std::vector<Conversation> conversations_;
};

std::ifstream open_or_throw(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("LLaVA data: cannot open '" + path + "': " + std::strerror(errno));
  return in;
}

// The first character that is not whitespace (or a UTF-8 byte-order mark), or 0.
char first_significant_char(const std::string& path) {
  auto in = open_or_throw(path);
  char ch;
  bool start = true;
  while (in.get(ch)) {
    if (start && ch == '\xEF') {  // BOM EF BB BF
      in.ignore(2);
      start = false;
      continue;
    }
    start = false;
    if (!std::isspace(static_cast<unsigned char>(ch))) return ch;
  }
  return 0;
}

// Line (1-based) at which each element of the top-level JSON array starts: one cheap pass that
// tracks strings and nesting, so records can be named by line as well as by index.
std::vector<int64_t> array_element_lines(const std::string& path) {
  auto in = open_or_throw(path);
  std::vector<int64_t> lines;
  int64_t line = 1;
  int64_t depth = 0;
  bool in_string = false, escaped = false, expect_element = false;
  std::vector<char> buffer(1 << 16);
  while (in.read(buffer.data(), static_cast<std::streamsize>(buffer.size())) || in.gcount() > 0) {
    const auto n = in.gcount();
    for (std::streamsize i = 0; i < n; ++i) {
      const char ch = buffer[i];
      if (ch == '\n') ++line;
      if (in_string) {
        if (escaped) {
          escaped = false;
        } else if (ch == '\\') {
          escaped = true;
        } else if (ch == '"') {
          in_string = false;
        }
        continue;
      }
      if (std::isspace(static_cast<unsigned char>(ch))) continue;
      if (depth == 1 && expect_element && ch != ']') {
        lines.push_back(line);
        expect_element = false;
      }
      switch (ch) {
        case '"': in_string = true; break;
        case '[':
        case '{':
          if (++depth == 1) expect_element = true;
          break;
        case ']':
        case '}': --depth; break;
        case ',':
          if (depth == 1) expect_element = true;
          break;
        default: break;
      }
    }
  }
  return lines;
}

// The 1-based line holding byte `offset` (nlohmann counts bytes from 1 up to the error).
int64_t line_of_byte(const std::string& path, size_t offset) {
  auto in = open_or_throw(path);
  int64_t line = 1;
  char ch;
  for (size_t i = 0; i + 1 < offset && in.get(ch); ++i) line += ch == '\n';
  return line;
}

void read_array(const std::string& path, Collector& collector) {
  const auto lines = array_element_lines(path);
  auto in = open_or_throw(path);
  int64_t index = 0;
  // Each element is handed over when complete and then discarded (return false), so the
  // array is never built in memory.
  const json::parser_callback_t on_event = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth != 1) return true;
    if (event != json::parse_event_t::object_end && event != json::parse_event_t::array_end &&
        event != json::parse_event_t::value) {
      return true;
    }
    const int64_t line = index < static_cast<int64_t>(lines.size()) ? lines[index] : 0;
    collector.add(parsed, line, index);
    ++index;
    return false;
  };
  try {
    const auto emptied = json::parse(in, on_event);  // every element was handed over and discarded
    (void)emptied;
  } catch (const json::parse_error& e) {
    throw std::runtime_error(path + ":" + std::to_string(line_of_byte(path, e.byte)) + ": invalid JSON (byte " +
                             std::to_string(e.byte) + "): " + parse_message(e));
  }
}

void read_lines(const std::string& path, Collector& collector) {
  auto in = open_or_throw(path);
  std::string text;
  int64_t line = 0;
  while (std::getline(in, text)) {
    ++line;
    if (text.find_first_not_of(" \t\r\n") == std::string::npos) continue;
    json record;
    try {
      record = json::parse(text);
    } catch (const json::parse_error& e) {
      // The error's own "line 1" is this line; keep only its column.
      auto message = parse_message(e);
      const auto at = message.find("at line 1, column");
      if (at != std::string::npos) message.replace(at, std::strlen("at line 1, column"), "at column");
      collector.bad(collector.where(line) + ": invalid JSON: " + message);
      continue;
    }
    collector.add(record, line, -1);
  }
}


}  // namespace

std::vector<Conversation> read_llava_file(const std::string& path, OnError on_error, ReadReport* report) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw std::runtime_error("LLaVA data: cannot open '" + path + "': no such file");
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw std::runtime_error("LLaVA data: cannot read '" + path + "': not a regular file");
  }
  Collector collector(path, on_error, report);
  if (!ends_with(path, ".jsonl") && first_significant_char(path) == '[') {
    read_array(path, collector);
  } else {
    read_lines(path, collector);
  }
  return collector.take();
}

}  // namespace trol
