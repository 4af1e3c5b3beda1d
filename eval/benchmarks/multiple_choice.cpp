#include "eval/benchmarks/multiple_choice.h"

#include <algorithm>
#include <cctype>
#include <regex>
#include <set>

#include "eval/benchmark_files.h"

namespace trol::bench {

namespace {

// Python's len() of a UTF-8 string: its code points.
size_t code_point_count(const std::string& text) {
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::string can_infer_option(const std::string& answer, const std::vector<Choice>& choices) {
  if (answer.find("Failed to obtain answer via API") != std::string::npos) return "";
  for (const char* refusal : {"Sorry, I can't help with images of people yet.", "I can't process this file.",
                              "I'm sorry, but without the image provided", "Cannot determine the answer"}) {
    if (answer.find(refusal) != std::string::npos) return "Z";
  }
  std::string spaced = answer;
  for (char& c : spaced) {
    if (std::string(".()[],:;!*#{}").find(c) != std::string::npos) c = ' ';
  }
  const auto words = split_on_whitespace(spaced);
  const auto position = [&](const std::string& w) { return std::find(words.begin(), words.end(), w) - words.begin(); };
  const auto present = [&](const std::string& w) { return position(w) < static_cast<std::ptrdiff_t>(words.size()); };
  int count = 0;
  for (const auto& choice : choices) count += present(std::string(1, choice.letter));
  if (count == 1) {
    for (const auto& choice : choices) {
      const std::string letter(1, choice.letter);
      // splits.index(ch) > len(splits) - 5: among the last four words.
      if (present(letter) && position(letter) > static_cast<std::ptrdiff_t>(words.size()) - 5) return letter;
    }
  } else if (count == 0 && present("Z")) {
    return "Z";
  }
  // _VERBOSE_ANSWER_RE: (?i)(?:correct\s+)?answer\s+is\s+\**([ABCD])\**, the first match.
  static const std::regex verbose(R"((?:correct\s+)?answer\s+is\s+\**([ABCD])\**)", std::regex::icase);
  std::smatch match;
  if (std::regex_search(answer, match, verbose)) {
    const char letter = static_cast<char>(std::toupper(static_cast<unsigned char>(match[1].str()[0])));
    for (const auto& choice : choices) {
      if (choice.letter == letter) return std::string(1, letter);
    }
  }
  return "";
}

std::string can_infer_text(const std::string& answer, const std::vector<Choice>& choices) {
  size_t total = 0;
  for (const auto& choice : choices) total += code_point_count(choice.text);
  if (code_point_count(answer) > 2 * total) return "";
  const auto lower = lowercase(answer);
  std::string found;
  int count = 0;
  for (const auto& choice : choices) {
    if (lower.find(lowercase(choice.text)) == std::string::npos) continue;
    found = std::string(1, choice.letter);
    ++count;
  }
  return count == 1 ? found : "";
}

double ratio(int64_t a, int64_t b) { return b > 0 ? static_cast<double>(a) / static_cast<double>(b) : 0.0; }

}  // namespace

bool pandas_reads_nan(const std::string& cell) {
  static const std::set<std::string> nan{"",     "#N/A", "#N/A N/A", "#NA",  "-1.#IND", "-1.#QNAN", "-NaN",
                                         "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A",     "NA",       "NULL",
                                         "NaN",  "None", "n/a",     "nan",  "null"};
  return nan.count(cell) > 0;
}

std::vector<ChoiceQuestion> read_choice_tsv(const std::string& file, const ChoiceTsvColumns& columns) {
  auto table = read_tsv_table(file);
  std::vector<std::string> problems;
  const auto where = [&](int64_t line) { return file + ":" + std::to_string(line) + ": "; };
  const auto id_column =
      table.column.count(columns.id) || columns.id_fallback.empty() ? columns.id : columns.id_fallback;
  std::vector<std::string> lacking;
  for (const auto& name : {id_column, std::string("answer")}) {
    if (!table.column.count(name)) lacking.push_back(name);
  }
  if (!columns.open_allowed && !table.column.count("A")) lacking.push_back("A");
  if (columns.keep_text && !table.column.count("question")) lacking.push_back("question");
  if (!lacking.empty()) {
    std::string names;
    for (const auto& name : lacking) names += (names.empty() ? "" : ", ") + name;
    throw BenchmarkFileError(file, {where(table.header.line) + "the header lacks the column(s) " + names});
  }
  const bool has_question_type = table.column.count("question_type") > 0;
  std::vector<ChoiceQuestion> questions;
  std::vector<std::string> indices;  // keep_text: each question's TSV index, for image references
  std::map<std::string, int64_t> seen;
  for (auto& record : table.rows) {
    if (const auto wrong = table.field_count_problem(record); !wrong.empty()) {
      problems.push_back(where(record.line) + wrong);
      continue;
    }
    const auto field = [&](const std::string& name) { return record.fields[table.column.at(name)]; };
    ChoiceQuestion q;
    if (columns.keep_text) {
      q.question = field("question");
      // Moved out: a base64 image is the bulk of the table.
      if (table.column.count("image")) q.image = std::move(record.fields[table.column.at("image")]);
    }
    q.line = record.line;
    q.id = strip(field(id_column));
    for (char letter = 'A'; letter <= 'Z'; ++letter) {
      const auto it = table.column.find(std::string(1, letter));
      if (it == table.column.end() || pandas_reads_nan(record.fields[it->second])) continue;
      q.choices.push_back({letter, record.fields[it->second]});
    }
    for (const auto& group : columns.groups) {
      if (table.column.count(group)) q.groups[group] = strip(field(group));
    }
    q.answer = strip(field("answer"));
    const size_t before = problems.size();
    if (q.id.empty()) {
      problems.push_back(where(record.line) + "empty " + id_column);
    } else if (const auto [it, fresh] = seen.emplace(q.id, record.line); !fresh) {
      problems.push_back(where(record.line) + id_column + " " + q.id + " repeats line " + std::to_string(it->second));
    }
    // MMMU: open questions have no options (VLMEvalKit's TSV) or a question_type other than
    // "multiple-choice" (MMMU's own columns).
    q.open = columns.open_allowed &&
             (q.choices.empty() || (has_question_type && strip(field("question_type")) != "multiple-choice"));
    if (q.open) {
      if (q.answer.empty()) problems.push_back(where(record.line) + "empty answer");
    } else if (q.choices.size() < 2) {
      problems.push_back(where(record.line) + "fewer than two options");
    } else {
      const bool is_letter = q.answer.size() == 1 && std::any_of(q.choices.begin(), q.choices.end(), [&](const Choice& c) {
                               return c.letter == q.answer[0];
                             });
      if (!is_letter) problems.push_back(where(record.line) + "answer \"" + q.answer + "\" is not the letter of one of the options");
    }
    if (problems.size() == before) {
      if (columns.keep_text) indices.push_back(table.column.count("index") ? strip(field("index")) : "");
      questions.push_back(std::move(q));
    }
  }
  if (!problems.empty()) throw BenchmarkFileError(file, problems);
  if (columns.keep_text) {
    std::vector<std::string*> images;
    for (auto& q : questions) images.push_back(&q.image);
    resolve_tsv_image_references(indices, images);
  }
  return questions;
}

void resolve_tsv_image_references(const std::vector<std::string>& indices, const std::vector<std::string*>& images) {
  constexpr size_t kReference = 64;  // VLMEvalKit: len(image) <= 64 is an index
  std::map<std::string, const std::string*> held;
  for (size_t i = 0; i < indices.size() && i < images.size(); ++i) {
    if (images[i]->size() > kReference) held.emplace(indices[i], images[i]);
  }
  for (auto* image : images) {
    if (image->size() > kReference) continue;
    const auto it = held.find(strip(*image));
    if (it != held.end()) *image = *it->second;
  }
}

std::string vlmevalkit_can_infer(const std::string& answer, const std::vector<Choice>& choices) {
  const auto option = can_infer_option(answer, choices);
  return option.empty() ? can_infer_text(answer, choices) : option;
}

nlohmann::ordered_json accuracy_by_group(const std::vector<ChoiceQuestion>& questions, const std::vector<bool>& right,
                                         const std::vector<std::string>& group_columns) {
  nlohmann::ordered_json metrics;
  const auto correct = std::count(right.begin(), right.end(), true);
  metrics["accuracy"] = ratio(correct, static_cast<int64_t>(questions.size()));
  metrics["questions"] = questions.size();
  for (const auto& column : group_columns) {
    std::map<std::string, std::pair<int64_t, int64_t>> tally;  // value -> (right, total)
    for (size_t i = 0; i < questions.size(); ++i) {
      const auto it = questions[i].groups.find(column);
      if (it == questions[i].groups.end()) continue;
      tally[it->second].first += right[i];
      ++tally[it->second].second;
    }
    if (tally.empty()) continue;
    nlohmann::ordered_json per;
    for (const auto& [value, counts] : tally) {
      per[value] = {{"accuracy", ratio(counts.first, counts.second)}, {"questions", counts.second}};
    }
    metrics[column] = per;
  }
  return metrics;
}

ScoreReport score_choice_questions(const std::string& benchmark, const ScoreRequest& request,
                                   std::vector<ChoiceQuestion> questions,
                                   const std::vector<std::string>& group_columns, LetterRule trol_rule,
                                   const std::string& trol_note) {
  const bool trol = request.scoring == Scoring::Trol;
  ScoreReport report;
  report.benchmark = benchmark;
  report.scoring = request.scoring;
  keep_asked(questions, request, [](const ChoiceQuestion& q) { return q.id; });
  report.counts.items = static_cast<int64_t>(questions.size());
  std::map<std::string, int> known;
  for (const auto& q : questions) known[q.id] = 1;
  const auto records = read_prediction_jsonl(request.predictions);
  const auto predictions = index_predictions_by_id(records, known, report.counts, report.notes);
  std::vector<bool> right;
  for (const auto& q : questions) {
    const auto it = predictions.find(q.id);
    if (it == predictions.end()) {
      ++report.counts.missing;
      right.push_back(false);
      continue;
    }
    const auto letter = trol ? trol_rule(it->second->text, q) : vlmevalkit_can_infer(it->second->text, q.choices);
    if (letter.empty()) ++report.counts.unparsable;
    right.push_back(!letter.empty() && letter == q.answer);
  }
  report.metrics = accuracy_by_group(questions, right, group_columns);
  if (report.counts.missing > 0) {
    report.notes.push_back("missing predictions count as wrong (VLMEvalKit scores only the rows its prediction file has)");
  }
  if (trol) report.notes.push_back("trol scoring: " + trol_note);
  return report;
}

}  // namespace trol::bench
