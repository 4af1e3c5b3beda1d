// What every benchmark scorer shares: the request (`trol score`'s arguments), the report it
// returns, and the reader for prediction files.
//
// Predictions come as LLaVA-style answers JSONL, one object per line:
//   {"question_id": 12, "text": "Yes, there is a dog."}     (other fields are ignored)
// question_id may be a string or an integer. A benchmark that has its own answer format reads
// that too (see its header). Bad input is an error naming file:line; nothing is skipped.
//
// Counting rules, the same for every benchmark (official scripts either crash or silently
// misalign on these; we report them):
//   missing     benchmark items without a prediction: scored as wrong, never dropped
//   unparsable  predictions no rule of the benchmark could read: scored as wrong
//   duplicates  prediction lines repeating an id already seen: the first one is scored
//   unknown     prediction ids that are not in the benchmark: ignored, counted
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace trol::bench {

enum class Scoring {
  Official,  // the benchmark's own scorer (default)
  Trol,      // the TroL authors' evaluation (ByungKwanLee/TroL eval/), where it differs
};

// Parses "official" | "trol"; throws std::invalid_argument naming the value otherwise.
Scoring parse_scoring(const std::string& name);
std::string scoring_name(Scoring scoring);

struct ScoreRequest {
  std::string data;         // the benchmark's files (a folder or a file; see each benchmark)
  std::string predictions;  // the predictions file (or folder, where a benchmark says so)
  Scoring scoring = Scoring::Official;
  std::string export_path;  // GPT-judged benchmarks: where to write the converted predictions
  // When set, only these questions count, keyed as the benchmark's item reader keys them
  // (BenchmarkItem::key, eval/items/benchmark_items.h): what eval.limit asked. The others are
  // neither scored nor missing, and a prediction for one is unknown.
  std::optional<std::set<std::string>> questions;
  bool asks(const std::string& key) const { return !questions || questions->count(key) > 0; }
};

struct ScoreCounts {
  int64_t items = 0;        // questions in the benchmark data
  int64_t predictions = 0;  // prediction records read
  int64_t missing = 0;      // items without a prediction (scored wrong)
  int64_t unparsable = 0;   // predictions no rule could read (scored wrong)
  int64_t duplicates = 0;   // records repeating an id (first one scored)
  int64_t unknown = 0;      // records whose id is not in the benchmark (ignored)
};

struct ScoreReport {
  std::string benchmark;
  Scoring scoring = Scoring::Official;
  nlohmann::ordered_json metrics = nlohmann::ordered_json::object();
  ScoreCounts counts;
  std::vector<std::string> notes;  // what the reader should know: differences, ids involved

  // {"benchmark", "scoring", "metrics", "counts", "notes"}
  nlohmann::ordered_json to_json() const;
};

// One record of a predictions file.
struct PredictionRecord {
  int64_t line = 0;
  std::string id;         // question_id as text (integers written in decimal)
  std::string text;       // the answer
  nlohmann::json object;  // the whole record, for benchmarks that need more fields
};

// Reads a JSONL predictions file. `text_fields` are tried in order for the answer (LLaVA
// writes "text"; some native formats "answer" or "prediction"). Every problem (unreadable file,
// invalid JSON, a line that is not an object, a missing or mistyped id or answer) is collected
// and thrown as one BenchmarkFileError naming file:line.
std::vector<PredictionRecord> read_prediction_jsonl(const std::string& file,
                                                    const std::vector<std::string>& text_fields = {"text"});

// Predictions by key (normally the id), the first record of a key winning. Counts
// predictions, duplicates, and (against `known`) unknown keys into `counts`, and adds a note
// naming the first few duplicate and unknown ids.
std::map<std::string, const PredictionRecord*> index_predictions(
    const std::vector<PredictionRecord>& records, const std::vector<std::string>& keys,
    const std::map<std::string, int>& known, ScoreCounts& counts, std::vector<std::string>& notes);
// The same, keyed by each record's question id.
std::map<std::string, const PredictionRecord*> index_predictions_by_id(const std::vector<PredictionRecord>& records,
                                                                       const std::map<std::string, int>& known,
                                                                       ScoreCounts& counts, std::vector<std::string>& notes);

// Leaves in `questions` those `request` asks (ScoreRequest::questions), `key_of` giving each
// one's item key.
template <typename Question, typename KeyOf>
void keep_asked(std::vector<Question>& questions, const ScoreRequest& request, KeyOf key_of) {
  if (!request.questions) return;
  std::vector<Question> asked;
  for (auto& q : questions) {
    if (request.asks(key_of(q))) asked.push_back(std::move(q));
  }
  questions = std::move(asked);
}

// A whole JSON file (object or array); unreadable or invalid is an error naming the file
// (and, for a syntax error, the line).
nlohmann::json read_json_file(const std::string& file);

// Small text helpers the scorers share.
std::string lowercase(std::string text);
std::string strip(const std::string& text, const std::string& characters = " \t\n\r\f\v");
bool is_blank(const std::string& text);
// Python's text.split() for ASCII whitespace: the words between runs of whitespace.
std::vector<std::string> split_on_whitespace(const std::string& text);

// The Unicode code points of UTF-8 `text`; false for bytes that are not UTF-8 (a Python str
// never holds those).
bool utf8_code_points(const std::string& text, std::vector<uint32_t>& points);

// Python's str.isspace() for one code point (Python 3.11, Unicode 14): ASCII \t\n\v\f\r,
// \x1c-\x1f and ' ', and U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F,
// U+205F, U+3000.
bool python_isspace(uint32_t point);
// The value of a Unicode decimal digit (category Nd: ASCII, Arabic-Indic, full-width "３",
// ...), as unicodedata.decimal gives it; -1 for anything else ("²" is not decimal).
int python_decimal(uint32_t point);
// Python's text.strip() with no argument: every Unicode whitespace of python_isspace.
std::string python_strip(const std::string& text);
// Python's text.lower(): Unicode's full lower case ("CURAÇAO" -> "curaçao", "ΟΔΟΣ" -> "οδος"
// with the final-sigma rule, "İ" -> "i" + U+0307; not casefold(): "ß" stays), from utf8proc's
// Unicode data. With Debian 12's utf8proc 2.8.0 (Unicode 15.0) it gives Python 3.11's
// (Unicode 14.0) lower() for every code point; next to a "Σ" the two differ only at the 111
// code points Unicode 15 assigned (marks and letters Python 3.11 calls unassigned). A newer
// utf8proc follows a newer Unicode, as a newer Python does. Text that is not UTF-8 (no Python
// str) has its ASCII letters lowered.
std::string python_lower(const std::string& text);

// Python's int(text) for a str, written back as str(int(text)) into `decimal`: surrounding
// (Unicode) whitespace, one sign, Unicode decimal digits with single '_' between two digits
// ("３" -> "3", "1_000" -> "1000", "-0" -> "0", "007" -> "7"). false if Python would raise
// ValueError. (Python 3.11+ also refuses more than 4300 digits; not reproduced.)
bool python_int(const std::string& text, std::string& decimal);

// Python's float(text): optional surrounding (Unicode) whitespace, sign, (Unicode decimal)
// digits with an optional fraction and exponent, "inf"/"infinity"/"nan" (any case), '_'
// between digits. false if Python would raise ValueError.
bool python_float(const std::string& text, double& value);

// Python's repr(float) (also str()): the shortest text that reads back to the same double,
// in Python's layout ("2.0", "0.1", "1e-05", "1e+16", "inf", "nan").
std::string python_float_repr(double value);

// Python's round(value, digits) for digits >= 0 (correctly rounded, ties to even on the
// exact binary value).
double python_round(double value, int digits);

}  // namespace trol::bench
