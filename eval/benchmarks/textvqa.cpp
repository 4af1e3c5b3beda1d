#include "eval/benchmarks/textvqa.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "eval/benchmark_files.h"

namespace trol::bench {

namespace {

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// The processor's contractions table, keys as they can occur after lowercasing (its
// capitalised keys "Id've", "I'dve", "Im", "Ive" never match and are left out). Its one odd
// entry, "somebody'd" -> "somebodyd", is kept: it is what the official scorer does.
const std::map<std::string, std::string>& contractions() {
  static const std::map<std::string, std::string> table = [] {
    std::map<std::string, std::string> t;
    const char* pairs[][2] = {
        {"aint", "ain't"}, {"arent", "aren't"}, {"cant", "can't"}, {"couldve", "could've"}, {"couldnt", "couldn't"},
        {"couldn'tve", "couldn't've"}, {"couldnt've", "couldn't've"}, {"didnt", "didn't"}, {"doesnt", "doesn't"},
        {"dont", "don't"}, {"hadnt", "hadn't"}, {"hadnt've", "hadn't've"}, {"hadn'tve", "hadn't've"}, {"hasnt", "hasn't"},
        {"havent", "haven't"}, {"hed", "he'd"}, {"hed've", "he'd've"}, {"he'dve", "he'd've"}, {"hes", "he's"},
        {"howd", "how'd"}, {"howll", "how'll"}, {"hows", "how's"}, {"isnt", "isn't"}, {"itd", "it'd"},
        {"itd've", "it'd've"}, {"it'dve", "it'd've"}, {"itll", "it'll"}, {"let's", "let's"}, {"maam", "ma'am"},
        {"mightnt", "mightn't"}, {"mightnt've", "mightn't've"}, {"mightn'tve", "mightn't've"}, {"mightve", "might've"},
        {"mustnt", "mustn't"}, {"mustve", "must've"}, {"neednt", "needn't"}, {"notve", "not've"}, {"oclock", "o'clock"},
        {"oughtnt", "oughtn't"}, {"ow's'at", "'ow's'at"}, {"'ows'at", "'ow's'at"}, {"'ow'sat", "'ow's'at"},
        {"shant", "shan't"}, {"shed've", "she'd've"}, {"she'dve", "she'd've"}, {"she's", "she's"},
        {"shouldve", "should've"}, {"shouldnt", "shouldn't"}, {"shouldnt've", "shouldn't've"},
        {"shouldn'tve", "shouldn't've"}, {"somebody'd", "somebodyd"}, {"somebodyd've", "somebody'd've"},
        {"somebody'dve", "somebody'd've"}, {"somebodyll", "somebody'll"}, {"somebodys", "somebody's"},
        {"someoned", "someone'd"}, {"someoned've", "someone'd've"}, {"someone'dve", "someone'd've"},
        {"someonell", "someone'll"}, {"someones", "someone's"}, {"somethingd", "something'd"},
        {"somethingd've", "something'd've"}, {"something'dve", "something'd've"}, {"somethingll", "something'll"},
        {"thats", "that's"}, {"thered", "there'd"}, {"thered've", "there'd've"}, {"there'dve", "there'd've"},
        {"therere", "there're"}, {"theres", "there's"}, {"theyd", "they'd"}, {"theyd've", "they'd've"},
        {"they'dve", "they'd've"}, {"theyll", "they'll"}, {"theyre", "they're"}, {"theyve", "they've"},
        {"twas", "'twas"}, {"wasnt", "wasn't"}, {"wed've", "we'd've"}, {"we'dve", "we'd've"}, {"weve", "we've"},
        {"werent", "weren't"}, {"whatll", "what'll"}, {"whatre", "what're"}, {"whats", "what's"},
        {"whatve", "what've"}, {"whens", "when's"}, {"whered", "where'd"}, {"wheres", "where's"},
        {"whereve", "where've"}, {"whod", "who'd"}, {"whod've", "who'd've"}, {"who'dve", "who'd've"},
        {"wholl", "who'll"}, {"whos", "who's"}, {"whove", "who've"}, {"whyll", "why'll"}, {"whyre", "why're"},
        {"whys", "why's"}, {"wont", "won't"}, {"wouldve", "would've"}, {"wouldnt", "wouldn't"},
        {"wouldnt've", "wouldn't've"}, {"wouldn'tve", "wouldn't've"}, {"yall", "y'all"}, {"yall'll", "y'all'll"},
        {"y'allll", "y'all'll"}, {"yall'd've", "y'all'd've"}, {"y'alld've", "y'all'd've"}, {"y'all'dve", "y'all'd've"},
        {"youd", "you'd"}, {"youd've", "you'd've"}, {"you'dve", "you'd've"}, {"youll", "you'll"},
        {"youre", "you're"}, {"youve", "you've"}};
    for (const auto& pair : pairs) t.emplace(pair[0], pair[1]);
    return t;
  }();
  return table;
}

std::vector<std::string> split_whitespace(const std::string& text) {
  std::vector<std::string> words;
  std::string word;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!word.empty()) words.push_back(std::move(word));
      word.clear();
    } else {
      word += c;
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

}  // namespace

std::string textvqa_normalize(const std::string& answer) {
  // 1. word_tokenize, then newlines/tabs and strip.
  std::string text;
  for (char c : lowercase(answer)) {
    if (c != ',' && c != '?') text += c;
  }
  text = replace_all(text, "'s", " 's");
  for (char& c : text) {
    if (c == '\n' || c == '\t') c = ' ';
  }
  text = strip(text, " \t\n\r\f\v");
  // 2. process_punctuation: the decision looks at the input text, the edits at the output.
  const std::string in = text;
  for (char p : std::string(";/[]\"{}()=+\\_-><@`,?!")) {
    const std::string mark(1, p);
    const bool touches_space = in.find(mark + " ") != std::string::npos || in.find(" " + mark) != std::string::npos;
    text = replace_all(text, mark, touches_space ? "" : " ");
  }
  std::string no_periods;
  int removed = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const bool digit_next = i + 1 < text.size() && std::isdigit(static_cast<unsigned char>(text[i + 1]));
    if (text[i] == '.' && !digit_next && removed < 32) {
      ++removed;
      continue;
    }
    no_periods += text[i];
  }
  // 3. process_digit_article.
  static const std::map<std::string, std::string> numbers{
      {"none", "0"}, {"zero", "0"}, {"one", "1"}, {"two", "2"},   {"three", "3"}, {"four", "4"},
      {"five", "5"}, {"six", "6"},  {"seven", "7"}, {"eight", "8"}, {"nine", "9"}, {"ten", "10"}};
  std::string out;
  for (auto word : split_whitespace(lowercase(no_periods))) {
    if (const auto n = numbers.find(word); n != numbers.end()) word = n->second;
    if (word == "a" || word == "an" || word == "the") continue;
    if (const auto c = contractions().find(word); c != contractions().end()) word = c->second;
    out += (out.empty() ? "" : " ") + word;
  }
  return out;
}

double textvqa_accuracy(const std::string& prediction, const std::vector<std::string>& human_answers) {
  if (human_answers.empty()) return 0.0;
  const auto predicted = textvqa_normalize(prediction);
  std::vector<std::string> answers;
  for (const auto& a : human_answers) answers.push_back(textvqa_normalize(a));
  if (std::find(answers.begin(), answers.end(), predicted) == answers.end()) return 0.0;
  const auto matching = std::count(answers.begin(), answers.end(), predicted);
  double sum = 0;
  for (const auto& left_out : answers) {
    const auto others = matching - (left_out == predicted ? 1 : 0);
    sum += std::min(1.0, static_cast<double>(others) / 3.0);
  }
  return sum / static_cast<double>(answers.size());
}

ScoreReport score_textvqa(const ScoreRequest& request) {
  ScoreReport report;
  report.benchmark = "textvqa";
  report.scoring = request.scoring;
  const auto data = read_json_file(request.data);
  if (!data.is_object() || !data.contains("data") || !data["data"].is_array()) {
    throw BenchmarkFileError(request.data, {request.data + ": expected {\"data\": [questions]} (TextVQA_0.5.1_val.json)"});
  }
  std::vector<std::string> problems;
  std::vector<std::pair<std::string, std::vector<std::string>>> questions;
  std::map<std::string, int> known;
  for (size_t i = 0; i < data["data"].size(); ++i) {
    const auto& q = data["data"][i];
    const auto where = request.data + ": data[" + std::to_string(i) + "]: ";
    if (!q.is_object() || !q.contains("question_id") || !(q["question_id"].is_number_integer() || q["question_id"].is_string())) {
      problems.push_back(where + "no question_id");
      continue;
    }
    if (!q.contains("answers") || !q["answers"].is_array() || q["answers"].empty()) {
      problems.push_back(where + "no \"answers\" list (the test split has none)");
      continue;
    }
    std::vector<std::string> answers;
    for (const auto& a : q["answers"]) answers.push_back(a.is_string() ? a.get<std::string>() : a.dump());
    const auto id = q["question_id"].is_string() ? q["question_id"].get<std::string>() : q["question_id"].dump();
    if (!known.emplace(id, 1).second) problems.push_back(where + "question_id " + id + " repeats");
    questions.emplace_back(id, std::move(answers));
  }
  if (!problems.empty()) throw BenchmarkFileError(request.data, problems);
  keep_asked(questions, request, [](const auto& q) { return q.first; });
  known.clear();
  for (const auto& q : questions) known[q.first] = 1;
  report.counts.items = static_cast<int64_t>(questions.size());
  const auto records = read_prediction_jsonl(request.predictions);
  const auto predictions = index_predictions_by_id(records, known, report.counts, report.notes);
  double sum = 0;
  for (const auto& [id, answers] : questions) {
    const auto it = predictions.find(id);
    if (it == predictions.end()) {
      ++report.counts.missing;
      continue;
    }
    sum += textvqa_accuracy(it->second->text, answers);
  }
  report.metrics["accuracy"] = questions.empty() ? 0.0 : sum / static_cast<double>(questions.size());
  report.metrics["questions"] = questions.size();
  if (request.scoring == Scoring::Trol) {
    report.notes.push_back("trol scoring: TroL's TextVQAAccuracyEvaluator is the official one; the numbers are the same");
  }
  return report;
}

}  // namespace trol::bench
