#include "eval/benchmarks/score_common.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>

#include <utf8proc.h>

#include "eval/benchmark_files.h"

namespace trol::bench {

using nlohmann::json;

Scoring parse_scoring(const std::string& name) {
  if (name == "official") return Scoring::Official;
  if (name == "trol") return Scoring::Trol;
  throw std::invalid_argument("unknown scoring '" + name + "' (expected official or trol)");
}

std::string scoring_name(Scoring scoring) { return scoring == Scoring::Official ? "official" : "trol"; }

nlohmann::ordered_json ScoreReport::to_json() const {
  nlohmann::ordered_json out;
  out["benchmark"] = benchmark;
  out["scoring"] = scoring_name(scoring);
  out["metrics"] = metrics;
  out["counts"] = {{"items", counts.items},           {"predictions", counts.predictions},
                   {"missing", counts.missing},       {"unparsable", counts.unparsable},
                   {"duplicates", counts.duplicates}, {"unknown", counts.unknown}};
  out["notes"] = notes;
  return out;
}

namespace {

std::string read_text(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw BenchmarkFileError(file, {file + ": cannot open the file (missing or unreadable)"});
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

// "a, b, c and 7 more" for notes.
std::string first_few(const std::vector<std::string>& ids) {
  std::string out;
  const size_t shown = std::min<size_t>(ids.size(), 5);
  for (size_t i = 0; i < shown; ++i) out += (i ? ", " : "") + ids[i];
  if (shown < ids.size()) out += " and " + std::to_string(ids.size() - shown) + " more";
  return out;
}

}  // namespace

std::vector<PredictionRecord> read_prediction_jsonl(const std::string& file, const std::vector<std::string>& text_fields) {
  std::stringstream in(read_text(file));
  std::vector<std::string> problems;
  std::vector<PredictionRecord> records;
  std::string text;
  const auto problem = [&](int64_t line, const std::string& what) {
    problems.push_back(file + ":" + std::to_string(line) + ": " + what);
  };
  for (int64_t line = 1; std::getline(in, text); ++line) {
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (is_blank(text)) continue;
    json object = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (object.is_discarded()) {
      problem(line, "not valid JSON");
      continue;
    }
    if (!object.is_object()) {
      problem(line, std::string("expected a JSON object, got ") + object.type_name());
      continue;
    }
    PredictionRecord record;
    record.line = line;
    const auto id = object.find("question_id");
    if (id == object.end()) {
      problem(line, "missing field 'question_id'");
    } else if (id->is_number_integer()) {
      record.id = id->dump();
    } else if (id->is_string() && !id->get<std::string>().empty()) {
      record.id = id->get<std::string>();
    } else {
      problem(line, std::string("field 'question_id' must be a non-empty string or an integer, got ") + id->type_name());
    }
    bool found = false;
    for (const auto& field : text_fields) {
      const auto answer = object.find(field);
      if (answer == object.end()) continue;
      found = true;
      if (!answer->is_string()) {
        problem(line, "field '" + field + "' must be a string, got " + answer->type_name());
      } else {
        record.text = answer->get<std::string>();
      }
      break;
    }
    if (!found) {
      std::string names;
      for (const auto& field : text_fields) names += (names.empty() ? "'" : " or '") + field + "'";
      problem(line, "missing the answer field " + names);
    }
    record.object = std::move(object);
    records.push_back(std::move(record));
  }
  if (!problems.empty()) throw BenchmarkFileError(file, problems);
  return records;
}

std::map<std::string, const PredictionRecord*> index_predictions(
    const std::vector<PredictionRecord>& records, const std::vector<std::string>& keys,
    const std::map<std::string, int>& known, ScoreCounts& counts, std::vector<std::string>& notes) {
  std::map<std::string, const PredictionRecord*> by_key;
  std::vector<std::string> duplicate_ids, unknown_ids;
  for (size_t i = 0; i < records.size(); ++i) {
    ++counts.predictions;
    const auto& key = keys[i];
    if (!known.count(key)) {
      ++counts.unknown;
      unknown_ids.push_back(key);
      continue;
    }
    const auto [it, fresh] = by_key.emplace(key, &records[i]);
    if (!fresh) {
      ++counts.duplicates;
      duplicate_ids.push_back(key + " (line " + std::to_string(records[i].line) + ", first at line " +
                              std::to_string(it->second->line) + ")");
    }
  }
  if (!duplicate_ids.empty()) {
    notes.push_back(std::to_string(duplicate_ids.size()) + " duplicate prediction(s), the first of each scored: " +
                    first_few(duplicate_ids));
  }
  if (!unknown_ids.empty()) {
    notes.push_back(std::to_string(unknown_ids.size()) + " prediction(s) for ids not in the benchmark, ignored: " +
                    first_few(unknown_ids));
  }
  return by_key;
}

json read_json_file(const std::string& file) {
  const auto text = read_text(file);
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    // The byte offset into a line number, so the message names file:line like the readers'.
    const size_t offset = std::min<size_t>(e.byte, text.size());
    int64_t line = 1;
    for (size_t i = 0; i + 1 < offset; ++i) line += text[i] == '\n';
    throw BenchmarkFileError(file, {file + ":" + std::to_string(line) + ": not valid JSON (" + e.what() + ")"});
  }
}

std::string lowercase(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::string strip(const std::string& text, const std::string& characters) {
  const auto first = text.find_first_not_of(characters);
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(characters) - first + 1);
}

bool is_blank(const std::string& text) { return strip(text).empty(); }

std::vector<std::string> split_on_whitespace(const std::string& text) {
  std::vector<std::string> words;
  std::string word;
  for (char c : text) {
    if (!std::isspace(static_cast<unsigned char>(c))) {
      word += c;
    } else if (!word.empty()) {
      words.push_back(std::move(word));
      word.clear();
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

namespace {

// The code point of the UTF-8 sequence at `at` and its length in bytes; 0 when the bytes there
// are not UTF-8.
size_t decode_utf8(const std::string& text, size_t at, uint32_t& point) {
  const auto lead = static_cast<unsigned char>(text[at]);
  const size_t length = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3 : (lead >> 3) == 0x1E ? 4 : 0;
  if (length == 0 || at + length > text.size()) return 0;
  point = length == 1 ? lead : lead & (0xFFu >> (length + 1));
  for (size_t k = 1; k < length; ++k) {
    const auto next = static_cast<unsigned char>(text[at + k]);
    if ((next & 0xC0) != 0x80) return 0;
    point = (point << 6) | (next & 0x3Fu);
  }
  return length;
}

}  // namespace

bool utf8_code_points(const std::string& text, std::vector<uint32_t>& points) {
  points.clear();
  uint32_t point = 0;
  for (size_t at = 0, length = 0; at < text.size(); at += length) {
    length = decode_utf8(text, at, point);
    if (length == 0) return false;
    points.push_back(point);
  }
  return true;
}

bool python_isspace(uint32_t point) {
  return (point >= 0x09 && point <= 0x0D) || (point >= 0x1C && point <= 0x20) || point == 0x85 || point == 0xA0 ||
         point == 0x1680 || (point >= 0x2000 && point <= 0x200A) || point == 0x2028 || point == 0x2029 ||
         point == 0x202F || point == 0x205F || point == 0x3000;
}

int python_decimal(uint32_t point) {
  // The digit zero of every run of ten Nd digits in Unicode 14 (Python 3.11's unicodedata:
  // [c for c in range(0x110000) if unicodedata.decimal(chr(c), -1) == 0]); each run holds
  // 0-9 in order.
  static constexpr uint32_t zeros[] = {
      0x30,    0x660,   0x6F0,   0x7C0,   0x966,   0x9E6,   0xA66,   0xAE6,   0xB66,   0xBE6,   0xC66,
      0xCE6,   0xD66,   0xDE6,   0xE50,   0xED0,   0xF20,   0x1040,  0x1090,  0x17E0,  0x1810,  0x1946,
      0x19D0,  0x1A80,  0x1A90,  0x1B50,  0x1BB0,  0x1C40,  0x1C50,  0xA620,  0xA8D0,  0xA900,  0xA9D0,
      0xA9F0,  0xAA50,  0xABF0,  0xFF10,  0x104A0, 0x10D30, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0,
      0x11450, 0x114D0, 0x11650, 0x116C0, 0x11730, 0x118E0, 0x11950, 0x11C50, 0x11D50, 0x11DA0, 0x16A60,
      0x16AC0, 0x16B50, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E950, 0x1FBF0};
  for (const uint32_t zero : zeros) {
    if (point >= zero && point < zero + 10) return static_cast<int>(point - zero);
  }
  return -1;
}

std::string python_strip(const std::string& text) {
  // Byte offsets of the first non-whitespace code point and of the end of the last one.
  size_t begin = std::string::npos, end = 0;
  uint32_t point = 0;
  for (size_t at = 0, length = 0; at < text.size(); at += length) {
    length = decode_utf8(text, at, point);
    if (length == 0) return strip(text);  // not UTF-8: no Python str; ASCII whitespace only
    if (python_isspace(point)) continue;
    if (begin == std::string::npos) begin = at;
    end = at + length;
  }
  return begin == std::string::npos ? "" : text.substr(begin, end - begin);
}

namespace {

// Unicode's Case_Ignorable (DerivedCoreProperties.txt): general category Mn, Me, Cf, Lm or Sk,
// or Word_Break MidLetter, MidNumLet or Single_Quote. utf8proc knows the categories but not
// Word_Break, so those punctuation marks are listed (WordBreakProperty.txt, Unicode 14 and 15).
bool case_ignorable(utf8proc_int32_t point) {
  switch (utf8proc_category(point)) {
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_SK:
      return true;
    default:
      break;
  }
  // ' . : · · ՟ ״ ‘ ’ ․ ‧ ︓ ﹒ ﹕ ＇ ． ：
  static constexpr utf8proc_int32_t word_break_mid[] = {0x27,   0x2E,   0x3A,   0xB7,   0x387,  0x55F,
                                                        0x5F4,  0x2018, 0x2019, 0x2024, 0x2027, 0xFE13,
                                                        0xFE52, 0xFE55, 0xFF07, 0xFF0E, 0xFF1A};
  return std::find(std::begin(word_break_mid), std::end(word_break_mid), point) != std::end(word_break_mid);
}

// Unicode's Cased (Lowercase, Uppercase or category Lt) for a code point that is not
// Case_Ignorable, the only ones the final-sigma rule asks about. Beyond categories Lu, Ll and Lt,
// Cased takes PropList's Other_Lowercase and Other_Uppercase, which utf8proc does not carry;
// those not Case_Ignorable have a case partner (Roman numerals, circled letters) or are
// ª, º and the squared letters of U+1F130-U+1F189.
bool cased_unless_ignorable(utf8proc_int32_t point) {
  switch (utf8proc_category(point)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
      return true;
    default:
      break;
  }
  if (utf8proc_tolower(point) != point || utf8proc_toupper(point) != point) return true;
  return point == 0xAA || point == 0xBA || (point >= 0x1F130 && point <= 0x1F149) ||
         (point >= 0x1F150 && point <= 0x1F169) || (point >= 0x1F170 && point <= 0x1F189);
}

// Python's choice for a capital sigma at `at` (CPython's handle_capital_sigma): final ς when
// a cased letter precedes it and none follows, case-ignorable characters skipped both ways.
utf8proc_int32_t lower_capital_sigma(const std::vector<utf8proc_int32_t>& points, size_t at) {
  const auto cased_neighbour = [&](int direction) {
    for (auto j = static_cast<int64_t>(at) + direction; j >= 0 && j < static_cast<int64_t>(points.size()); j += direction) {
      const auto point = points[static_cast<size_t>(j)];
      if (!case_ignorable(point)) return cased_unless_ignorable(point);
    }
    return false;
  };
  return cased_neighbour(-1) && !cased_neighbour(+1) ? 0x3C2 : 0x3C3;
}

}  // namespace

std::string python_lower(const std::string& text) {
  std::vector<utf8proc_int32_t> points;
  const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  for (size_t at = 0; at < text.size();) {
    utf8proc_int32_t point = 0;
    const auto length = utf8proc_iterate(bytes + at, static_cast<utf8proc_ssize_t>(text.size() - at), &point);
    if (length <= 0) return lowercase(text);  // not UTF-8: no Python str; ASCII letters only
    points.push_back(point);
    at += static_cast<size_t>(length);
  }
  std::string out;
  out.reserve(text.size());
  utf8proc_uint8_t encoded[4];
  for (size_t i = 0; i < points.size(); ++i) {
    // Python lowers with the full mapping (SpecialCasing.txt), utf8proc with the simple one
    // (UnicodeData.txt); the two differ in İ, whose full lower case is two code points, and in
    // Σ, whose full lower case depends on its neighbours.
    if (points[i] == 0x130) {
      out += "i\xCC\x87";  // i + U+0307 combining dot above
      continue;
    }
    const auto lower = points[i] == 0x3A3 ? lower_capital_sigma(points, i) : utf8proc_tolower(points[i]);
    out.append(reinterpret_cast<const char*>(encoded), static_cast<size_t>(utf8proc_encode_char(lower, encoded)));
  }
  return out;
}

namespace {

// What CPython does before parsing int() and float() text
// (_PyUnicode_TransformDecimalAndSpaceToASCII): every Unicode whitespace becomes ' ', every
// decimal digit its ASCII digit; any other non-ASCII character makes the text unparsable.
// Then the surrounding ASCII whitespace goes.
bool python_number_text(const std::string& text, std::string& ascii) {
  std::vector<uint32_t> points;
  if (!utf8_code_points(text, points)) return false;
  ascii.clear();
  for (const uint32_t point : points) {
    const int digit = python_decimal(point);
    if (python_isspace(point)) {
      ascii += ' ';
    } else if (digit >= 0) {
      ascii += static_cast<char>('0' + digit);
    } else if (point < 0x80) {
      ascii += static_cast<char>(point);
    } else {
      return false;
    }
  }
  ascii = strip(ascii);
  return true;
}

}  // namespace

bool python_int(const std::string& input, std::string& decimal) {
  std::string text;
  if (!python_number_text(input, text)) return false;
  size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
  std::string digits;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (std::isdigit(static_cast<unsigned char>(c))) {
      digits += c;
    } else if (c == '_' && !digits.empty() && std::isdigit(static_cast<unsigned char>(text[i - 1])) &&
               i + 1 < text.size() && std::isdigit(static_cast<unsigned char>(text[i + 1]))) {
      continue;
    } else {
      return false;
    }
  }
  if (digits.empty()) return false;
  digits.erase(0, std::min(digits.find_first_not_of('0'), digits.size() - 1));
  decimal = (negative && digits != "0" ? "-" : "") + digits;
  return true;
}

bool python_float(const std::string& input, double& value) {
  std::string text;
  if (!python_number_text(input, text) || text.empty()) return false;
  size_t i = 0;
  std::string clean;
  if (text[i] == '+' || text[i] == '-') clean += text[i++];
  const auto rest = lowercase(text.substr(i));
  if (rest == "inf" || rest == "infinity" || rest == "nan") {
    value = std::strtod((clean + rest).c_str(), nullptr);
    return true;
  }
  // digits ['.' digits] [e [sign] digits], '_' only between two digits, at least one digit
  // in the mantissa.
  const auto digits = [&](bool& any) {
    while (i < text.size()) {
      if (std::isdigit(static_cast<unsigned char>(text[i]))) {
        clean += text[i++];
        any = true;
      } else if (text[i] == '_' && any && i + 1 < text.size() && std::isdigit(static_cast<unsigned char>(text[i + 1])) &&
                 std::isdigit(static_cast<unsigned char>(text[i - 1]))) {
        ++i;
      } else {
        break;
      }
    }
  };
  bool integer_digits = false, fraction_digits = false;
  digits(integer_digits);
  if (i < text.size() && text[i] == '.') {
    clean += text[i++];
    digits(fraction_digits);
  }
  if (!integer_digits && !fraction_digits) return false;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    clean += text[i++];
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) clean += text[i++];
    bool exponent_digits = false;
    digits(exponent_digits);
    if (!exponent_digits) return false;
  }
  if (i != text.size()) return false;
  value = std::strtod(clean.c_str(), nullptr);
  return true;
}

std::string python_float_repr(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value < 0 ? "-inf" : "inf";
  if (value == 0) return std::signbit(value) ? "-0.0" : "0.0";
  // The shortest scientific form that reads back exactly.
  char buffer[64];
  for (int precision = 0; precision <= 17; ++precision) {
    std::snprintf(buffer, sizeof buffer, "%.*e", precision, value);
    if (std::strtod(buffer, nullptr) == value) break;
  }
  std::string text(buffer);
  const bool negative = text[0] == '-';
  if (negative) text.erase(0, 1);
  const auto e = text.find('e');
  const int exponent = std::stoi(text.substr(e + 1));
  std::string digits;
  for (char c : text.substr(0, e)) {
    if (c != '.') digits += c;
  }
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  std::string out;
  if (exponent < -4 || exponent >= 16) {
    // Python: 1e-05, 1.5e+16 (at least two exponent digits).
    out = digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char exp[16];
    std::snprintf(exp, sizeof exp, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
    out += exp;
  } else if (exponent < 0) {
    out = "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
  } else {
    const size_t point = static_cast<size_t>(exponent) + 1;
    if (digits.size() <= point) {
      out = digits + std::string(point - digits.size(), '0') + ".0";
    } else {
      out = digits.substr(0, point) + "." + digits.substr(point);
    }
  }
  return (negative ? "-" : "") + out;
}

double python_round(double value, int digits) {
  if (!std::isfinite(value)) return value;
  char buffer[512];
  std::snprintf(buffer, sizeof buffer, "%.*f", digits, value);  // glibc: exact, ties to even
  return std::strtod(buffer, nullptr);
}

std::map<std::string, const PredictionRecord*> index_predictions_by_id(const std::vector<PredictionRecord>& records,
                                                                       const std::map<std::string, int>& known,
                                                                       ScoreCounts& counts, std::vector<std::string>& notes) {
  std::vector<std::string> keys;
  for (const auto& record : records) keys.push_back(record.id);
  return index_predictions(records, keys, known, counts, notes);
}

}  // namespace trol::bench
