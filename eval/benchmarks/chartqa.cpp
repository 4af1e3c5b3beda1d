#include "eval/benchmarks/chartqa.h"

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "eval/builtin_benchmarks.h"

namespace trol::bench {
namespace fs = std::filesystem;

namespace {

// Python's str.lower(), which the official text comparison applies to both sides: Unicode's
// full lowercase mapping, not ASCII's ("CURAÇAO" is "curaçao", "ΑΘΗΝΑ" "αθηνα").
struct LowercaseRun {
  uint32_t first, last;  // upper-case code points first, first + step, ..., last
  int32_t delta;         // their lower case is the code point + delta
  uint32_t step;         // 1, or 2 where upper and lower alternate (Ā ā Ă ă ...)
};
// Python 3.11 (Unicode 14), generated with
//   [(c, ord(chr(c).lower())) for c in range(0x110000) if chr(c).lower() != chr(c) and len(chr(c).lower()) == 1]
// grouped into runs of equal delta; checked to give chr(c).lower() for every code point but
// U+0130, whose lower case is two code points (U+0069 U+0307).
constexpr LowercaseRun lowercase_runs[] = {
    {0x41, 0x5A, 32, 1}, {0xC0, 0xD6, 32, 1}, {0xD8, 0xDE, 32, 1}, {0x100, 0x12E, 1, 2},
    {0x132, 0x136, 1, 2}, {0x139, 0x147, 1, 2}, {0x14A, 0x176, 1, 2}, {0x178, 0x178, -121, 1},
    {0x179, 0x17D, 1, 2}, {0x181, 0x181, 210, 1}, {0x182, 0x184, 1, 2}, {0x186, 0x186, 206, 1},
    {0x187, 0x187, 1, 1}, {0x189, 0x18A, 205, 1}, {0x18B, 0x18B, 1, 1}, {0x18E, 0x18E, 79, 1},
    {0x18F, 0x18F, 202, 1}, {0x190, 0x190, 203, 1}, {0x191, 0x191, 1, 1}, {0x193, 0x193, 205, 1},
    {0x194, 0x194, 207, 1}, {0x196, 0x196, 211, 1}, {0x197, 0x197, 209, 1}, {0x198, 0x198, 1, 1},
    {0x19C, 0x19C, 211, 1}, {0x19D, 0x19D, 213, 1}, {0x19F, 0x19F, 214, 1}, {0x1A0, 0x1A4, 1, 2},
    {0x1A6, 0x1A6, 218, 1}, {0x1A7, 0x1A7, 1, 1}, {0x1A9, 0x1A9, 218, 1}, {0x1AC, 0x1AC, 1, 1},
    {0x1AE, 0x1AE, 218, 1}, {0x1AF, 0x1AF, 1, 1}, {0x1B1, 0x1B2, 217, 1}, {0x1B3, 0x1B5, 1, 2},
    {0x1B7, 0x1B7, 219, 1}, {0x1B8, 0x1B8, 1, 1}, {0x1BC, 0x1BC, 1, 1}, {0x1C4, 0x1C4, 2, 1},
    {0x1C5, 0x1C5, 1, 1}, {0x1C7, 0x1C7, 2, 1}, {0x1C8, 0x1C8, 1, 1}, {0x1CA, 0x1CA, 2, 1},
    {0x1CB, 0x1DB, 1, 2}, {0x1DE, 0x1EE, 1, 2}, {0x1F1, 0x1F1, 2, 1}, {0x1F2, 0x1F4, 1, 2},
    {0x1F6, 0x1F6, -97, 1}, {0x1F7, 0x1F7, -56, 1}, {0x1F8, 0x21E, 1, 2}, {0x220, 0x220, -130, 1},
    {0x222, 0x232, 1, 2}, {0x23A, 0x23A, 10795, 1}, {0x23B, 0x23B, 1, 1}, {0x23D, 0x23D, -163, 1},
    {0x23E, 0x23E, 10792, 1}, {0x241, 0x241, 1, 1}, {0x243, 0x243, -195, 1}, {0x244, 0x244, 69, 1},
    {0x245, 0x245, 71, 1}, {0x246, 0x24E, 1, 2}, {0x370, 0x372, 1, 2}, {0x376, 0x376, 1, 1},
    {0x37F, 0x37F, 116, 1}, {0x386, 0x386, 38, 1}, {0x388, 0x38A, 37, 1}, {0x38C, 0x38C, 64, 1},
    {0x38E, 0x38F, 63, 1}, {0x391, 0x3A1, 32, 1}, {0x3A3, 0x3AB, 32, 1}, {0x3CF, 0x3CF, 8, 1},
    {0x3D8, 0x3EE, 1, 2}, {0x3F4, 0x3F4, -60, 1}, {0x3F7, 0x3F7, 1, 1}, {0x3F9, 0x3F9, -7, 1},
    {0x3FA, 0x3FA, 1, 1}, {0x3FD, 0x3FF, -130, 1}, {0x400, 0x40F, 80, 1}, {0x410, 0x42F, 32, 1},
    {0x460, 0x480, 1, 2}, {0x48A, 0x4BE, 1, 2}, {0x4C0, 0x4C0, 15, 1}, {0x4C1, 0x4CD, 1, 2},
    {0x4D0, 0x52E, 1, 2}, {0x531, 0x556, 48, 1}, {0x10A0, 0x10C5, 7264, 1}, {0x10C7, 0x10C7, 7264, 1},
    {0x10CD, 0x10CD, 7264, 1}, {0x13A0, 0x13EF, 38864, 1}, {0x13F0, 0x13F5, 8, 1}, {0x1C90, 0x1CBA, -3008, 1},
    {0x1CBD, 0x1CBF, -3008, 1}, {0x1E00, 0x1E94, 1, 2}, {0x1E9E, 0x1E9E, -7615, 1}, {0x1EA0, 0x1EFE, 1, 2},
    {0x1F08, 0x1F0F, -8, 1}, {0x1F18, 0x1F1D, -8, 1}, {0x1F28, 0x1F2F, -8, 1}, {0x1F38, 0x1F3F, -8, 1},
    {0x1F48, 0x1F4D, -8, 1}, {0x1F59, 0x1F5F, -8, 2}, {0x1F68, 0x1F6F, -8, 1}, {0x1F88, 0x1F8F, -8, 1},
    {0x1F98, 0x1F9F, -8, 1}, {0x1FA8, 0x1FAF, -8, 1}, {0x1FB8, 0x1FB9, -8, 1}, {0x1FBA, 0x1FBB, -74, 1},
    {0x1FBC, 0x1FBC, -9, 1}, {0x1FC8, 0x1FCB, -86, 1}, {0x1FCC, 0x1FCC, -9, 1}, {0x1FD8, 0x1FD9, -8, 1},
    {0x1FDA, 0x1FDB, -100, 1}, {0x1FE8, 0x1FE9, -8, 1}, {0x1FEA, 0x1FEB, -112, 1}, {0x1FEC, 0x1FEC, -7, 1},
    {0x1FF8, 0x1FF9, -128, 1}, {0x1FFA, 0x1FFB, -126, 1}, {0x1FFC, 0x1FFC, -9, 1}, {0x2126, 0x2126, -7517, 1},
    {0x212A, 0x212A, -8383, 1}, {0x212B, 0x212B, -8262, 1}, {0x2132, 0x2132, 28, 1}, {0x2160, 0x216F, 16, 1},
    {0x2183, 0x2183, 1, 1}, {0x24B6, 0x24CF, 26, 1}, {0x2C00, 0x2C2F, 48, 1}, {0x2C60, 0x2C60, 1, 1},
    {0x2C62, 0x2C62, -10743, 1}, {0x2C63, 0x2C63, -3814, 1}, {0x2C64, 0x2C64, -10727, 1}, {0x2C67, 0x2C6B, 1, 2},
    {0x2C6D, 0x2C6D, -10780, 1}, {0x2C6E, 0x2C6E, -10749, 1}, {0x2C6F, 0x2C6F, -10783, 1}, {0x2C70, 0x2C70, -10782, 1},
    {0x2C72, 0x2C72, 1, 1}, {0x2C75, 0x2C75, 1, 1}, {0x2C7E, 0x2C7F, -10815, 1}, {0x2C80, 0x2CE2, 1, 2},
    {0x2CEB, 0x2CED, 1, 2}, {0x2CF2, 0x2CF2, 1, 1}, {0xA640, 0xA66C, 1, 2}, {0xA680, 0xA69A, 1, 2},
    {0xA722, 0xA72E, 1, 2}, {0xA732, 0xA76E, 1, 2}, {0xA779, 0xA77B, 1, 2}, {0xA77D, 0xA77D, -35332, 1},
    {0xA77E, 0xA786, 1, 2}, {0xA78B, 0xA78B, 1, 1}, {0xA78D, 0xA78D, -42280, 1}, {0xA790, 0xA792, 1, 2},
    {0xA796, 0xA7A8, 1, 2}, {0xA7AA, 0xA7AA, -42308, 1}, {0xA7AB, 0xA7AB, -42319, 1}, {0xA7AC, 0xA7AC, -42315, 1},
    {0xA7AD, 0xA7AD, -42305, 1}, {0xA7AE, 0xA7AE, -42308, 1}, {0xA7B0, 0xA7B0, -42258, 1}, {0xA7B1, 0xA7B1, -42282, 1},
    {0xA7B2, 0xA7B2, -42261, 1}, {0xA7B3, 0xA7B3, 928, 1}, {0xA7B4, 0xA7C2, 1, 2}, {0xA7C4, 0xA7C4, -48, 1},
    {0xA7C5, 0xA7C5, -42307, 1}, {0xA7C6, 0xA7C6, -35384, 1}, {0xA7C7, 0xA7C9, 1, 2}, {0xA7D0, 0xA7D0, 1, 1},
    {0xA7D6, 0xA7D8, 1, 2}, {0xA7F5, 0xA7F5, 1, 1}, {0xFF21, 0xFF3A, 32, 1}, {0x10400, 0x10427, 40, 1},
    {0x104B0, 0x104D3, 40, 1}, {0x10570, 0x1057A, 39, 1}, {0x1057C, 0x1058A, 39, 1}, {0x1058C, 0x10592, 39, 1},
    {0x10594, 0x10595, 39, 1}, {0x10C80, 0x10CB2, 64, 1}, {0x118A0, 0x118BF, 32, 1}, {0x16E40, 0x16E5F, 32, 1},
    {0x1E900, 0x1E921, 34, 1},
};

uint32_t lower_code_point(uint32_t point) {
  for (const auto& run : lowercase_runs) {
    if (point >= run.first && point <= run.last && (point - run.first) % run.step == 0) {
      return static_cast<uint32_t>(static_cast<int64_t>(point) + run.delta);
    }
  }
  return point;
}

// Python's final-sigma rule needs Unicode's Cased and Case_Ignorable properties around a
// capital sigma. Exact below U+0530 (Latin, IPA, Greek, Cyrillic: the scripts a word ending in
// Σ is written in), from Python 3.11's own lower() (probing "AΣ" + c and "AΣ" + c + "B");
// beyond, a letter with a case partner counts as cased and the quotes U+2018/U+2019 and the
// zero-width and direction marks U+200B-U+200F as ignorable, which leaves out rarer scripts'
// modifiers. Characters both cased and ignorable are listed as ignorable, as the rule skips
// them.
struct CodePointRange {
  uint32_t first, last;
};
constexpr CodePointRange cased_below_0530[] = {
    {0x41, 0x5A},   {0x61, 0x7A},   {0xAA, 0xAA},   {0xB5, 0xB5},   {0xBA, 0xBA},   {0xC0, 0xD6},
    {0xD8, 0xF6},   {0xF8, 0x1BA},  {0x1BC, 0x1BF}, {0x1C4, 0x293}, {0x295, 0x2AF}, {0x370, 0x373},
    {0x376, 0x377}, {0x37B, 0x37D}, {0x37F, 0x37F}, {0x386, 0x386}, {0x388, 0x38A}, {0x38C, 0x38C},
    {0x38E, 0x3A1}, {0x3A3, 0x3F5}, {0x3F7, 0x481}, {0x48A, 0x52F}};
constexpr CodePointRange case_ignorable_below_0530[] = {
    {0x27, 0x27},   {0x2E, 0x2E},   {0x3A, 0x3A},   {0x5E, 0x5E},   {0x60, 0x60},   {0xA8, 0xA8},
    {0xAD, 0xAD},   {0xAF, 0xAF},   {0xB4, 0xB4},   {0xB7, 0xB8},   {0x2B0, 0x36F}, {0x374, 0x375},
    {0x37A, 0x37A}, {0x384, 0x385}, {0x387, 0x387}, {0x483, 0x489}};

template <size_t N>
bool in_ranges(uint32_t point, const CodePointRange (&ranges)[N]) {
  for (const auto& range : ranges) {
    if (point >= range.first && point <= range.last) return true;
  }
  return false;
}

bool is_case_ignorable(uint32_t point) {
  if (point < 0x530) return in_ranges(point, case_ignorable_below_0530);
  return point == 0x2018 || point == 0x2019 || (point >= 0x200B && point <= 0x200F);
}

bool is_cased(uint32_t point) {
  if (point < 0x530) return in_ranges(point, cased_below_0530);
  if (lower_code_point(point) != point) return true;
  for (const auto& run : lowercase_runs) {  // the lower case of some letter
    const int64_t upper = static_cast<int64_t>(point) - run.delta;
    if (upper >= run.first && upper <= run.last && (static_cast<uint32_t>(upper) - run.first) % run.step == 0) return true;
  }
  return false;
}

void append_utf8(uint32_t point, std::string& out) {
  if (point < 0x80) {
    out += static_cast<char>(point);
  } else if (point < 0x800) {
    out += static_cast<char>(0xC0 | (point >> 6));
    out += static_cast<char>(0x80 | (point & 0x3F));
  } else if (point < 0x10000) {
    out += static_cast<char>(0xE0 | (point >> 12));
    out += static_cast<char>(0x80 | ((point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (point & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (point >> 18));
    out += static_cast<char>(0x80 | ((point >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (point & 0x3F));
  }
}

std::string python_lower(const std::string& text) {
  std::vector<uint32_t> points;
  if (!utf8_code_points(text, points)) return lowercase(text);  // not UTF-8: no Python str
  std::string out;
  out.reserve(text.size());
  const auto cased_neighbour = [&](size_t from, int direction) {
    for (auto j = static_cast<int64_t>(from) + direction; j >= 0 && j < static_cast<int64_t>(points.size()); j += direction) {
      if (!is_case_ignorable(points[static_cast<size_t>(j)])) return is_cased(points[static_cast<size_t>(j)]);
    }
    return false;
  };
  for (size_t i = 0; i < points.size(); ++i) {
    if (points[i] == 0x130) {  // İ: i + combining dot above
      out += "i\xCC\x87";
    } else if (points[i] == 0x3A3) {  // Σ: ς at the end of a word, σ elsewhere
      append_utf8(cased_neighbour(i, -1) && !cased_neighbour(i, +1) ? 0x3C2 : 0x3C3, out);
    } else {
      append_utf8(lower_code_point(points[i]), out);
    }
  }
  return out;
}

// pix2struct's _to_float; `percent_divides` is false for the TroL copy.
bool to_float(const std::string& text, bool percent_divides, double& value) {
  if (!text.empty() && text.back() == '%') {
    if (!python_float(text.substr(0, text.find_last_not_of('%') + 1), value)) return false;
    if (percent_divides) value /= 100.0;
    return true;
  }
  return python_float(text, value);
}

// relaxed_correctness(target, prediction) as written: the tolerance is relative to `target`.
bool relaxed_correctness(const std::string& target, const std::string& prediction, bool percent_divides) {
  double p = 0, t = 0;
  const bool p_number = to_float(prediction, percent_divides, p);
  const bool t_number = to_float(target, percent_divides, t);
  if (p_number && t_number && t != 0) return std::fabs(p - t) / std::fabs(t) <= 0.05;
  return python_lower(prediction) == python_lower(target);
}

}  // namespace

std::string chartqa_split_of(const fs::path& file) {
  auto stem = file.stem().string();
  return stem.rfind("test_", 0) == 0 ? stem.substr(5) : stem;
}

std::vector<fs::path> chartqa_question_files(const std::string& data) {
  std::vector<fs::path> files;
  if (fs::is_directory(data)) {
    for (const char* name : {"test_human.json", "test_augmented.json"}) {
      if (fs::is_regular_file(fs::path(data) / name)) files.push_back(fs::path(data) / name);
    }
    if (files.empty()) throw BenchmarkFileError(data, {data + ": holds neither test_human.json nor test_augmented.json"});
  } else {
    files.push_back(data);
  }
  return files;
}

bool chartqa_correct(const std::string& prediction, const std::string& label, Scoring scoring) {
  // Official: the prediction as written; float() forgives surrounding whitespace, the text
  // comparison does not ("Chad " is not "Chad").
  if (scoring == Scoring::Official) return relaxed_correctness(label, prediction, /*percent_divides=*/true);
  std::string answer = prediction;
  if (answer.find_first_of("0123456789") != std::string::npos) answer = answer.substr(0, answer.find(' '));
  return relaxed_correctness(python_strip(answer), label, /*percent_divides=*/false);
}

ScoreReport score_chartqa(const ScoreRequest& request) {
  ScoreReport report;
  report.benchmark = "chartqa";
  report.scoring = request.scoring;
  const auto files = chartqa_question_files(request.data);
  struct Question {
    std::string split, id, label;
  };
  std::vector<Question> questions;
  std::vector<std::string> splits;
  std::map<std::string, int> known;
  for (const auto& file : files) {
    const auto list = read_json_file(file.string());
    if (!list.is_array()) throw BenchmarkFileError(file.string(), {file.string() + ": expected a JSON list of questions"});
    std::vector<std::string> problems;
    for (size_t i = 0; i < list.size(); ++i) {
      const auto& q = list[i];
      const auto label = q.is_object() ? q.find("label") : q.end();
      if (!q.is_object() || label == q.end() || !(label->is_string() || label->is_number())) {
        problems.push_back(file.string() + ": question " + std::to_string(i) + " has no \"label\" (string or number)");
        continue;
      }
      const auto id = chartqa_split_of(file) + "/" + std::to_string(i);
      questions.push_back({chartqa_split_of(file), id, label->is_string() ? label->get<std::string>() : label->dump()});
      known[id] = 1;
    }
    if (!problems.empty()) throw BenchmarkFileError(file.string(), problems);
    splits.push_back(chartqa_split_of(file));
  }
  report.counts.items = static_cast<int64_t>(questions.size());
  const auto records = read_prediction_jsonl(request.predictions);
  const auto predictions = index_predictions_by_id(records, known, report.counts, report.notes);

  double sum = 0;
  int64_t padded = 0, right_if_stripped = 0;  // official: answers with surrounding whitespace
  for (const auto& split : splits) {
    int64_t correct = 0, total = 0;
    for (const auto& q : questions) {
      if (q.split != split) continue;
      ++total;
      const auto it = predictions.find(q.id);
      if (it == predictions.end()) {
        ++report.counts.missing;
        continue;
      }
      const auto& text = it->second->text;
      const bool right = chartqa_correct(text, q.label, request.scoring);
      correct += right;
      if (request.scoring == Scoring::Official && python_strip(text) != text) {
        ++padded;
        right_if_stripped += !right && chartqa_correct(python_strip(text), q.label, request.scoring);
      }
    }
    const double accuracy = total > 0 ? static_cast<double>(correct) / static_cast<double>(total) : 0.0;
    report.metrics[split] = {{"relaxed_accuracy", accuracy}, {"correct", correct}, {"questions", total}};
    sum += accuracy;
  }
  report.metrics["relaxed_accuracy"] = sum / static_cast<double>(splits.size());
  if (report.counts.missing > 0) {
    report.notes.push_back(std::to_string(report.counts.missing) + " question(s) without an answer are scored wrong over "
                           "all questions of their split; the official relaxed accuracy is computed over the answers it "
                           "is given, so a partial file scores higher there");
  }
  if (padded > 0) {
    report.notes.push_back(std::to_string(padded) + " answer(s) with surrounding whitespace are compared as written, as "
                           "the official relaxed_correctness does (\"Chad \" is not \"Chad\"; numbers are read by float(), "
                           "which ignores it): " + std::to_string(right_if_stripped) + " of them would be right stripped");
  }
  if (request.scoring == Scoring::Trol) {
    report.notes.push_back("trol scoring: answers with a digit cut to their first word, '%' not divided by 100, "
                           "tolerance relative to the prediction (TroL eval/utils.py relaxed_correctness, called swapped)");
  }
  return report;
}

}  // namespace trol::bench
