#include "eval/benchmarks/hallusionbench.h"

#include <cctype>
#include <filesystem>

#include "eval/benchmarks/multiple_choice.h"
#include "eval/benchmark_files.h"

namespace trol::bench {
namespace fs = std::filesystem;

namespace {

std::string text_of(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_integer()) return value.dump();
  return "";
}

std::vector<HallusionQuestion> read_json(const std::string& file) {
  const auto data = read_json_file(file);
  if (!data.is_array()) throw BenchmarkFileError(file, {file + ": expected a list of questions (HallusionBench.json)"});
  std::vector<std::string> problems;
  std::vector<HallusionQuestion> questions;
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < data.size(); ++i) {
    const auto& r = data[i];
    const auto where = file + ": [" + std::to_string(i) + "]: ";
    std::map<std::string, std::string> f;
    bool ok = r.is_object();
    for (const char* key : {"category", "subcategory", "visual_input", "set_id", "figure_id", "question_id", "gt_answer"}) {
      if (ok) f[key] = text_of(r.value(key, nlohmann::json()));
      if (!ok || f[key].empty()) {
        problems.push_back(where + "no " + key);
        ok = false;
      }
    }
    if (!ok) continue;
    if (f["gt_answer"] != "0" && f["gt_answer"] != "1") {
      problems.push_back(where + "gt_answer \"" + f["gt_answer"] + "\" is not \"0\" or \"1\"");
      continue;
    }
    HallusionQuestion q;
    const auto base = f["category"] + "_" + f["subcategory"] + "_" + f["set_id"] + "_";
    q.id = base + f["figure_id"] + "_" + f["question_id"];
    if (!seen.emplace(q.id, i).second) {
      problems.push_back(where + q.id + " repeats [" + std::to_string(seen[q.id]) + "]");
      continue;
    }
    q.yes = f["gt_answer"] == "1";
    q.hard = f["visual_input"] == "2";
    if (!(f["category"] == "VS" && f["figure_id"] == "0")) q.figure = base + f["figure_id"];
    q.pair = base + f["question_id"];
    q.groups["category"] = f["category"];
    q.question = text_of(r.value("question", nlohmann::json()));
    q.image = text_of(r.value("filename", nlohmann::json()));
    questions.push_back(std::move(q));
  }
  if (!problems.empty()) throw BenchmarkFileError(file, problems);
  return questions;
}

std::vector<HallusionQuestion> read_tsv(const std::string& file, bool keep_images) {
  auto table = read_tsv_table(file);
  std::vector<std::string> problems;
  for (const char* name : {"index", "answer", "category", "l2-category"}) {
    if (!table.column.count(name)) problems.push_back(file + ":1: the header lacks the column " + name);
  }
  if (!problems.empty()) throw BenchmarkFileError(file, problems);
  std::vector<HallusionQuestion> questions;
  std::map<std::string, int64_t> seen;
  for (auto& record : table.rows) {
    const auto where = file + ":" + std::to_string(record.line) + ": ";
    if (const auto wrong = table.field_count_problem(record); !wrong.empty()) {
      problems.push_back(where + wrong);
      continue;
    }
    const auto field = [&](const char* name) { return strip(record.fields[table.column.at(name)]); };
    HallusionQuestion q;
    q.id = field("index");
    std::vector<std::string> parts;
    for (size_t start = 0;;) {
      const auto at = q.id.find('_', start);
      parts.push_back(q.id.substr(start, at == std::string::npos ? std::string::npos : at - start));
      if (at == std::string::npos) break;
      start = at + 1;
    }
    const auto answer = field("answer");
    if (parts.size() < 6) {
      problems.push_back(where + "index \"" + q.id + "\" has no set_id_figure_id_question_id at parts 3-5 of '_'");
    } else if (answer != "Yes" && answer != "No") {
      problems.push_back(where + "answer \"" + answer + "\" is not Yes or No");
    } else if (const auto [it, fresh] = seen.emplace(q.id, record.line); !fresh) {
      problems.push_back(where + "index " + q.id + " repeats line " + std::to_string(it->second));
    } else {
      const auto l2 = field("l2-category");
      q.yes = answer == "Yes";
      q.figure = l2 + "_" + parts[3] + "_" + parts[4];
      q.pair = l2 + "_" + parts[3] + "_" + parts[5];
      q.hard = false;
      q.groups["category"] = field("category");
      q.groups["l2-category"] = l2;
      if (table.column.count("question")) q.question = record.fields[table.column.at("question")];
      if (keep_images && table.column.count("image")) q.image = std::move(record.fields[table.column.at("image")]);
      questions.push_back(std::move(q));
    }
  }
  if (!problems.empty()) throw BenchmarkFileError(file, problems);
  if (keep_images) {  // VLMEvalKit stores a figure once, the other questions name its row
    std::vector<std::string> indices;
    std::vector<std::string*> images;
    for (auto& q : questions) {
      indices.push_back(q.id);
      images.push_back(&q.image);
    }
    resolve_tsv_image_references(indices, images);
  }
  return questions;
}

// Share of groups whose questions are all right.
double all_right_share(const std::vector<const HallusionQuestion*>& questions, const std::map<std::string, bool>& right,
                       std::string HallusionQuestion::*key, int hard = -1) {
  std::map<std::string, bool> groups;
  for (const auto* q : questions) {
    if ((q->*key).empty() || (hard >= 0 && q->hard != (hard == 1))) continue;
    auto [it, fresh] = groups.emplace(q->*key, true);
    it->second = it->second && right.at(q->id);
  }
  int64_t all = 0;
  for (const auto& [name, ok] : groups) all += ok;
  return groups.empty() ? 0.0 : static_cast<double>(all) / static_cast<double>(groups.size());
}

nlohmann::ordered_json hallusion_metrics(const std::vector<const HallusionQuestion*>& questions,
                                         const std::map<std::string, bool>& right, bool with_difficulty) {
  int64_t correct = 0;
  for (const auto* q : questions) correct += right.at(q->id);
  nlohmann::ordered_json m;
  m["aAcc"] = questions.empty() ? 0.0 : static_cast<double>(correct) / static_cast<double>(questions.size());
  m["fAcc"] = all_right_share(questions, right, &HallusionQuestion::figure);
  m["qAcc"] = all_right_share(questions, right, &HallusionQuestion::pair);
  if (with_difficulty) {
    m["easy_qAcc"] = all_right_share(questions, right, &HallusionQuestion::pair, 0);
    m["hard_qAcc"] = all_right_share(questions, right, &HallusionQuestion::pair, 1);
  }
  m["questions"] = questions.size();
  return m;
}

}  // namespace

std::vector<HallusionQuestion> read_hallusionbench_questions(const std::string& file, bool keep_images) {
  return fs::path(file).extension() == ".json" ? read_json(file) : read_tsv(file, keep_images);
}

std::string yes_or_no_extraction(const std::string& answer) {
  const auto text = lowercase(answer);
  // VLMEvalKit's process_punctuation: decisions on the input, replacements on the output.
  bool digit_comma_digit = false;
  for (size_t i = 1; i + 1 < text.size(); ++i) {
    if (text[i] == ',' && std::isdigit(static_cast<unsigned char>(text[i - 1])) &&
        std::isdigit(static_cast<unsigned char>(text[i + 1]))) {
      digit_comma_digit = true;
    }
  }
  std::string out = text;
  for (char p : std::string(";/[]\"{}()=+\\_-><@`,?!")) {
    const std::string ps(1, p);
    const bool drop = text.find(ps + " ") != std::string::npos || text.find(" " + ps) != std::string::npos || digit_comma_digit;
    std::string next;
    for (char c : out) {
      if (c != p) next += c;
      else if (!drop) next += ' ';
    }
    out = next;
  }
  // periodStrip (?<!\d)\.(?!\d), called as sub('', out, re.UNICODE): re.UNICODE (32) is the
  // count argument, so at most 32 periods go.
  std::string words_text;
  int removed = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    const bool digit_before = i > 0 && std::isdigit(static_cast<unsigned char>(out[i - 1]));
    const bool digit_after = i + 1 < out.size() && std::isdigit(static_cast<unsigned char>(out[i + 1]));
    if (out[i] == '.' && !digit_before && !digit_after && removed < 32) {
      ++removed;
      continue;
    }
    words_text += out[i];
  }
  bool yes = false, no = false;
  std::string word;
  for (size_t i = 0; i <= words_text.size(); ++i) {
    if (i == words_text.size() || std::isspace(static_cast<unsigned char>(words_text[i]))) {
      yes = yes || word == "yes";
      no = no || word == "no";
      word.clear();
    } else {
      word += words_text[i];
    }
  }
  if (yes && !no) return "Yes";
  if (no && !yes) return "No";
  return "Unknown";
}

ScoreReport score_hallusionbench(const ScoreRequest& request) {
  ScoreReport report;
  report.benchmark = "hallusionbench";
  report.scoring = request.scoring;
  const bool json = fs::path(request.data).extension() == ".json";
  auto questions = read_hallusionbench_questions(request.data);
  keep_asked(questions, request, [](const HallusionQuestion& q) { return q.id; });
  report.counts.items = static_cast<int64_t>(questions.size());
  std::map<std::string, int> known;
  for (const auto& q : questions) known[q.id] = 1;
  const auto records = read_prediction_jsonl(request.predictions);
  const auto predictions = index_predictions_by_id(records, known, report.counts, report.notes);
  std::map<std::string, bool> right;
  for (const auto& q : questions) {
    const auto it = predictions.find(q.id);
    if (it == predictions.end()) {
      ++report.counts.missing;
      right[q.id] = false;
    } else if (request.scoring == Scoring::Trol) {
      right[q.id] = (lowercase(it->second->text).find("yes") != std::string::npos) == q.yes;
    } else {
      const auto read = yes_or_no_extraction(it->second->text);
      if (read == "Unknown") ++report.counts.unparsable;
      right[q.id] = read != "Unknown" && (read == "Yes") == q.yes;
    }
  }
  std::vector<const HallusionQuestion*> all;
  std::map<std::string, std::map<std::string, std::vector<const HallusionQuestion*>>> by_group;
  for (const auto& q : questions) {
    all.push_back(&q);
    for (const auto& [column, value] : q.groups) by_group[column][value].push_back(&q);
  }
  report.metrics = hallusion_metrics(all, right, json);
  for (const auto& [column, values] : by_group) {
    nlohmann::ordered_json per;
    for (const auto& [value, members] : values) per[value] = hallusion_metrics(members, right, json);
    report.metrics[column] = per;
  }
  if (report.counts.unparsable > 0) {
    report.notes.push_back("answers YOrN_Extraction cannot read as yes or no are wrong here (counted unparsable); the "
                           "official tool asks GPT-4 to judge them");
  }
  if (request.scoring == Scoring::Trol) {
    report.notes.push_back("trol scoring: 'yes' anywhere in the lowercased answer is yes, else no (TroL "
                           "eval/create_evaluator.py evaluate_hallusionbench); the authors report aAcc");
  }
  return report;
}

}  // namespace trol::bench
