#include "eval/benchmarks/score_common.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "eval/builtin_benchmarks.h"

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

bool python_float(const std::string& input, double& value) {
  const std::string text = strip(input);
  if (text.empty()) return false;
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
