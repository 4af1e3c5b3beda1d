#include "eval/benchmarks/llava_answers.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <stdexcept>
#include <tuple>

#include "eval/benchmarks/mme.h"
#include "eval/benchmarks/pope.h"
#include "eval/benchmarks/scienceqa.h"
#include "eval/benchmarks/textvqa.h"
#include "eval/benchmark_files.h"

namespace trol::bench {
namespace fs = std::filesystem;

namespace {

const std::string kShortAnswer = "Answer the question using a single word or phrase.";

// Python's '%.<digits>f' (glibc's printf rounds the exact binary value, as Python does).
std::string fixed(double value, int digits) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", digits, value);
  return buffer;
}

std::string where(const std::string& file, int64_t line) { return file + ":" + std::to_string(line) + ": "; }

// Python's text.split(separator) for a one-character separator: empty pieces kept.
std::vector<std::string> split_keep_empty(const std::string& text, char separator) {
  std::vector<std::string> pieces(1);
  for (char c : text) {
    if (c == separator) pieces.emplace_back();
    else pieces.back() += c;
  }
  return pieces;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = 0; (at = text.find(from, at)) != std::string::npos; at += to.size()) text.replace(at, from.size(), to);
  return text;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The first `count` characters (code points) of UTF-8 text, as Python's text[:count].
std::string first_characters(const std::string& text, size_t count) {
  size_t at = 0;
  for (size_t seen = 0; at < text.size() && seen < count; ++seen) {
    ++at;
    while (at < text.size() && (static_cast<unsigned char>(text[at]) & 0xC0) == 0x80) ++at;
  }
  return text.substr(0, at);
}

// A LLaVA question file in JSON lines: question_id (and "text") on every line, by id (first line
// of an id; TextVQA's ids, the image ids, repeat).
struct QuestionFile {
  std::string file;
  std::vector<PredictionRecord> records;
  std::map<std::string, const PredictionRecord*> by_id;
};

QuestionFile read_question_jsonl(const std::string& file) {
  QuestionFile questions;
  questions.file = file;
  questions.records = read_prediction_jsonl(file, {"text"});
  for (const auto& record : questions.records) questions.by_id.emplace(record.id, &record);
  if (questions.records.empty()) throw BenchmarkFileError(file, {file + ": no questions"});
  return questions;
}

// Every answer's question_id must be a question of the question file: the pair of files belong
// together (LLaVA's scripts raise KeyError or silently drop the answer otherwise).
void require_known_ids(const std::vector<PredictionRecord>& answers, const std::string& answers_file,
                       const std::set<std::string>& ids, const std::string& questions_file) {
  std::vector<std::string> problems;
  for (const auto& answer : answers) {
    if (!ids.count(answer.id)) {
      problems.push_back(where(answers_file, answer.line) + "question_id " + answer.id + " is not in the questions file " +
                         questions_file);
    }
  }
  if (!problems.empty()) throw BenchmarkFileError(answers_file, problems);
}

std::set<std::string> ids_of(const QuestionFile& questions) {
  std::set<std::string> ids;
  for (const auto& [id, record] : questions.by_id) ids.insert(id);
  return ids;
}

std::string string_field_or_error(const PredictionRecord& record, const std::string& field, const std::string& file,
                                  std::vector<std::string>& problems) {
  const auto it = record.object.find(field);
  if (it == record.object.end() || !it->is_string()) {
    problems.push_back(where(file, record.line) + "no string field '" + field + "'");
    return {};
  }
  return it->get<std::string>();
}

// ---------------------------------------------------------------- POPE (eval_pope.py)

LlavaScore score_pope(const ScoreRequest& request, const std::string& questions_file) {
  LlavaScore result;
  result.script = "llava/eval/eval_pope.py";
  auto& report = result.report;
  const auto questions = read_question_jsonl(questions_file);
  if (!fs::is_directory(request.data)) {
    throw BenchmarkFileError(request.data, {request.data + ": not a folder (eval_pope.py's --annotation-dir: the "
                                                           "coco_pope_<category>.json label files)"});
  }
  // eval_pope.py asserts every file of the folder is a coco_pope_*.json.
  std::vector<std::string> categories, problems;
  for (const auto& entry : fs::directory_iterator(request.data)) {
    const auto name = entry.path().filename().string();
    if (name.rfind("coco_pope_", 0) != 0 || name.size() <= 15 || name.substr(name.size() - 5) != ".json") {
      problems.push_back(entry.path().string() + ": eval_pope.py's annotation folder may hold only coco_pope_<category>.json");
      continue;
    }
    categories.push_back(name.substr(10, name.size() - 15));
  }
  if (!problems.empty()) throw BenchmarkFileError(request.data, problems);
  if (categories.empty()) throw BenchmarkFileError(request.data, {request.data + ": no coco_pope_<category>.json"});
  // eval_pope.py follows os.listdir's order; print in POPE's usual order, then by name.
  const std::vector<std::string> usual{"random", "popular", "adversarial"};
  const auto rank = [&](const std::string& c) {
    return static_cast<size_t>(std::find(usual.begin(), usual.end(), c) - usual.begin());
  };
  std::sort(categories.begin(), categories.end(),
            [&](const std::string& a, const std::string& b) { return std::make_pair(rank(a), a) < std::make_pair(rank(b), b); });

  std::map<std::string, const PredictionRecord*> question_of_category;  // id -> its question's line
  std::map<std::string, std::string> category_of;
  for (const auto& record : questions.records) {
    const auto category = string_field_or_error(record, "category", questions_file, problems);
    if (category_of.emplace(record.id, category).second) question_of_category[record.id] = &record;
  }
  if (!problems.empty()) throw BenchmarkFileError(questions_file, problems);

  const auto answers = read_prediction_jsonl(request.predictions, {"text"});
  require_known_ids(answers, request.predictions, ids_of(questions), questions_file);
  // eval_pope.py walks the label files only, so it would drop an answer whose category has none
  // without a word: that is a question file and a label folder that do not belong together.
  for (const auto& answer : answers) {
    const auto& category = category_of.at(answer.id);
    if (std::find(categories.begin(), categories.end(), category) == categories.end()) {
      problems.push_back(where(questions_file, question_of_category.at(answer.id)->line) + "unknown category '" + category +
                         "' (answered at " + request.predictions + ":" + std::to_string(answer.line) + "): " +
                         request.data + " has no coco_pope_" + category + ".json");
    }
  }
  if (!problems.empty()) throw BenchmarkFileError(questions_file, problems);
  report.counts.predictions = static_cast<int64_t>(answers.size());
  std::set<std::string> seen;
  for (const auto& answer : answers) report.counts.duplicates += !seen.insert(answer.id).second;

  const auto question_text = [](std::string text) {
    const auto suffix = "\n" + kShortAnswer;
    if (text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0) {
      text.resize(text.size() - suffix.size());
    }
    return text;
  };
  for (const auto& category : categories) {
    const auto label_file = (fs::path(request.data) / ("coco_pope_" + category + ".json")).string();
    const auto labels = read_prediction_jsonl(label_file, {"label"});
    report.counts.items += static_cast<int64_t>(labels.size());
    std::vector<const PredictionRecord*> current;
    for (const auto& answer : answers) {
      if (category_of.at(answer.id) == category) current.push_back(&answer);
    }
    if (current.empty()) {
      report.notes.push_back("category " + category + ": no answers (eval_pope.py raises ZeroDivisionError here); skipped");
      report.counts.missing += static_cast<int64_t>(labels.size());
      continue;
    }
    const size_t paired = std::min(current.size(), labels.size());
    int64_t tp = 0, fp = 0, tn = 0, fn = 0, yes_answers = 0, mismatched = 0;
    for (size_t i = 0; i < current.size(); ++i) {
      const bool yes = pope_reads_yes(current[i]->text, Scoring::Official);
      yes_answers += yes;
      if (i >= paired) continue;
      const bool label_yes = labels[i].text != "no";
      if (yes && label_yes) ++tp;
      else if (yes) ++fp;
      else if (!label_yes) ++tn;
      else ++fn;
      // Pairing is by position: say when a pair is of two different questions.
      const auto& question = questions.by_id.at(current[i]->id)->object;
      const auto& label = labels[i].object;
      if (question.value("image", "") != label.value("image", "") ||
          question_text(question.value("text", "")) != question_text(label.value("text", ""))) {
        ++mismatched;
      }
    }
    if (current.size() != labels.size()) {
      report.notes.push_back("category " + category + ": " + std::to_string(current.size()) + " answers for " +
                             std::to_string(labels.size()) + " labels; eval_pope.py zips them, scoring the first " +
                             std::to_string(paired));
      if (current.size() < labels.size()) report.counts.missing += static_cast<int64_t>(labels.size() - current.size());
    }
    if (mismatched > 0) {
      report.notes.push_back("category " + category + ": " + std::to_string(mismatched) +
                             " answers are paired (by position, as eval_pope.py pairs them) with the label of a different "
                             "question of " + label_file + " (image or text differ): the answer file is not in the question "
                             "file's order or misses answers");
    }
    auto& printed = result.printed;
    printed.push_back("Category: " + category + ", # samples: " + std::to_string(current.size()));
    printed.push_back("TP\tFP\tTN\tFN\t");
    printed.push_back(std::to_string(tp) + "\t" + std::to_string(fp) + "\t" + std::to_string(tn) + "\t" + std::to_string(fn));
    nlohmann::ordered_json m;
    m["samples"] = current.size();
    m["confusion"] = {{"tp", tp}, {"fp", fp}, {"tn", tn}, {"fn", fn}};
    const double yes_ratio = static_cast<double>(yes_answers) / static_cast<double>(current.size());
    if (tp + fp == 0 || tp + fn == 0) {
      report.notes.push_back("category " + category + ": precision or recall divides by zero (eval_pope.py raises "
                             "ZeroDivisionError after printing the counts)");
      m["accuracy"] = static_cast<double>(tp + tn) / static_cast<double>(paired);
      m["yes_ratio"] = yes_ratio;
      report.metrics[category] = m;
      printed.push_back("====================================");
      continue;
    }
    const double precision = static_cast<double>(tp) / static_cast<double>(tp + fp);
    const double recall = static_cast<double>(tp) / static_cast<double>(tp + fn);
    const double f1 = 2 * precision * recall / (precision + recall);
    const double accuracy = static_cast<double>(tp + tn) / static_cast<double>(tp + tn + fp + fn);
    m["accuracy"] = accuracy;
    m["precision"] = precision;
    m["recall"] = recall;
    m["f1"] = f1;
    m["yes_ratio"] = yes_ratio;
    report.metrics[category] = m;
    printed.push_back("Accuracy: " + python_float_repr(accuracy));
    printed.push_back("Precision: " + python_float_repr(precision));
    printed.push_back("Recall: " + python_float_repr(recall));
    printed.push_back("F1 score: " + python_float_repr(f1));
    printed.push_back("Yes ratio: " + python_float_repr(yes_ratio));
    printed.push_back(fixed(f1, 3) + ", " + fixed(accuracy, 3) + ", " + fixed(precision, 3) + ", " + fixed(recall, 3) +
                      ", " + fixed(yes_ratio, 3));
    printed.push_back("====================================");
  }
  if (report.counts.duplicates > 0) {
    report.notes.push_back("answers repeating a question_id are each scored, in file order, as eval_pope.py does");
  }
  return result;
}

// ---------------------------------------------------------------- TextVQA (eval_textvqa.py)

LlavaScore score_textvqa(const ScoreRequest& request, const std::string& questions_file) {
  LlavaScore result;
  result.script = "llava/eval/eval_textvqa.py";
  auto& report = result.report;
  const auto questions = read_question_jsonl(questions_file);
  const auto data = read_json_file(request.data);
  if (!data.is_object() || !data.contains("data") || !data["data"].is_array()) {
    throw BenchmarkFileError(request.data, {request.data + ": expected {\"data\": [annotations]} (TextVQA_0.5.1_val.json)"});
  }
  // (image_id, lowercased question) -> human answers; a later annotation replaces an earlier
  // one, as the script's dict comprehension does.
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> annotations;
  std::vector<std::string> problems;
  for (size_t i = 0; i < data["data"].size(); ++i) {
    const auto& a = data["data"][i];
    const auto at = request.data + ": data[" + std::to_string(i) + "]: ";
    if (!a.is_object() || !a.contains("image_id") || !a["image_id"].is_string() || !a.contains("question") ||
        !a["question"].is_string()) {
      problems.push_back(at + "needs string fields image_id and question");
      continue;
    }
    if (!a.contains("answers") || !a["answers"].is_array() || a["answers"].size() != 10) {
      problems.push_back(at + "needs 10 \"answers\" (m4c_evaluator asserts 10; the test split has none)");
      continue;
    }
    std::vector<std::string> answers;
    for (const auto& h : a["answers"]) answers.push_back(h.is_string() ? h.get<std::string>() : h.dump());
    annotations[{a["image_id"].get<std::string>(), lowercase(a["question"].get<std::string>())}] = std::move(answers);
  }
  if (!problems.empty()) throw BenchmarkFileError(request.data, problems);
  report.counts.items = static_cast<int64_t>(annotations.size());

  const auto answers = read_prediction_jsonl(request.predictions, {"text"});
  require_known_ids(answers, request.predictions, ids_of(questions), questions_file);
  report.counts.predictions = static_cast<int64_t>(answers.size());
  double sum = 0;
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& answer : answers) {
    const auto prompt = string_field_or_error(answer, "prompt", request.predictions, problems);
    if (prompt.empty()) continue;
    const auto question = llava_textvqa_question(prompt);
    if (question.empty()) {
      problems.push_back(where(request.predictions, answer.line) +
                         "the prompt has none of the layouts eval_textvqa.py reads (question + \"Reference OCR token: \" "
                         "line + instruction, question + instruction, or \"OCR tokens: ... Question: ... Short answer:\")");
      continue;
    }
    const auto it = annotations.find({answer.id, question});
    if (it == annotations.end()) {
      problems.push_back(where(request.predictions, answer.line) + "no annotation in " + request.data + " has image_id " +
                         answer.id + " and question \"" + question + "\"");
      continue;
    }
    report.counts.duplicates += !seen.insert(it->first).second;
    sum += textvqa_accuracy(answer.text, it->second);
  }
  if (!problems.empty()) throw BenchmarkFileError(request.predictions, problems);
  if (answers.empty()) throw BenchmarkFileError(request.predictions, {request.predictions + ": no answers"});
  report.counts.missing = report.counts.items - static_cast<int64_t>(seen.size());
  const double accuracy = sum / static_cast<double>(answers.size());
  report.metrics["accuracy"] = accuracy;
  report.metrics["samples"] = answers.size();
  if (report.counts.duplicates > 0) {
    report.notes.push_back("answers to the same question are each scored, as eval_textvqa.py does");
  }
  if (report.counts.missing > 0) {
    report.notes.push_back("eval_textvqa.py averages over the answers: unanswered annotations are not counted");
  }
  result.printed = {fs::path(request.predictions).stem().string(), "Samples: " + std::to_string(answers.size()),
                    "Accuracy: " + fixed(100. * accuracy, 2) + "%", ""};
  return result;
}

// ---------------------------------------------------------------- ScienceQA (eval_science_qa.py)

LlavaScore score_scienceqa(const ScoreRequest& request, const std::string& questions_file) {
  LlavaScore result;
  result.script = "llava/eval/eval_science_qa.py";
  auto& report = result.report;
  const auto questions = read_json_file(questions_file);
  std::set<std::string> ids;
  std::vector<std::string> problems;
  if (!questions.is_array()) throw BenchmarkFileError(questions_file, {questions_file + ": expected a JSON list of questions"});
  for (size_t i = 0; i < questions.size(); ++i) {
    const auto& q = questions[i];
    if (!q.is_object() || !q.contains("id") || !(q["id"].is_string() || q["id"].is_number_integer())) {
      problems.push_back(questions_file + ": [" + std::to_string(i) + "]: no \"id\"");
      continue;
    }
    ids.insert(q["id"].is_string() ? q["id"].get<std::string>() : q["id"].dump());
  }
  if (!problems.empty()) throw BenchmarkFileError(questions_file, problems);

  const auto problems_file = (fs::path(request.data) / "problems.json").string();
  const auto splits_file = (fs::path(request.data) / "pid_splits.json").string();
  const auto all_problems = read_json_file(problems_file);
  const auto splits = read_json_file(splits_file);
  if (!splits.is_object() || !splits.contains("test") || !splits["test"].is_array()) {
    throw BenchmarkFileError(splits_file, {splits_file + ": no \"test\" list of pids"});
  }
  const auto answers = read_prediction_jsonl(request.predictions, {"text"});
  require_known_ids(answers, request.predictions, ids, questions_file);
  report.counts.predictions = static_cast<int64_t>(answers.size());
  std::map<std::string, const PredictionRecord*> predictions;  // the last answer of an id wins
  for (const auto& answer : answers) {
    report.counts.duplicates += predictions.count(answer.id);
    predictions[answer.id] = &answer;
  }
  int64_t total = 0, correct = 0, img_total = 0, img_correct = 0;
  std::set<std::string> scored;
  for (const auto& pid_json : splits["test"]) {
    const auto pid = pid_json.is_string() ? pid_json.get<std::string>() : pid_json.dump();
    if (!scored.insert(pid).second) continue;  // the script's dict keeps a pid once
    if (!all_problems.contains(pid) || !all_problems[pid].contains("choices") || !all_problems[pid]["choices"].is_array() ||
        !all_problems[pid].contains("answer") || !all_problems[pid]["answer"].is_number_integer()) {
      problems.push_back(problems_file + ": test pid " + pid + " is missing or lacks choices or an integer answer");
      continue;
    }
    const auto& problem = all_problems[pid];
    const auto it = predictions.find(pid);
    std::string text = "FAILED", prompt = "Unknown";
    if (it != predictions.end()) {
      text = it->second->text;
      const auto p = it->second->object.find("prompt");
      if (p == it->second->object.end() || !p->is_string()) {
        problems.push_back(where(request.predictions, it->second->line) + "no string field 'prompt' (eval_science_qa.py "
                                                                          "tells IMG questions by \"<image>\" in it)");
        continue;
      }
      prompt = p->get<std::string>();
    } else {
      ++report.counts.missing;
    }
    const auto letter = scienceqa_letter(text, Scoring::Official);
    const int64_t choices = static_cast<int64_t>(problem["choices"].size());
    const int64_t index = letter.empty() ? -1 : letter[0] - 'A';
    const bool valid = index >= 0 && index < std::min<int64_t>(choices, 5);
    if (it != predictions.end() && !valid) ++report.counts.unparsable;
    const bool right = valid && index == problem["answer"].get<int64_t>();
    const bool multimodal = contains(prompt, "<image>");
    ++total;
    correct += right;
    img_total += multimodal;
    img_correct += multimodal && right;
  }
  if (!problems.empty()) throw BenchmarkFileError(request.predictions, problems);
  report.counts.items = total;
  if (total == 0) throw BenchmarkFileError(splits_file, {splits_file + ": the test split is empty"});
  const double accuracy = static_cast<double>(correct) / static_cast<double>(total) * 100;
  report.metrics["accuracy"] = accuracy / 100;
  report.metrics["total"] = total;
  report.metrics["correct"] = correct;
  std::string img_text = "(none)";
  if (img_total > 0) {
    const double img_accuracy = static_cast<double>(img_correct) / static_cast<double>(img_total) * 100;
    report.metrics["img_accuracy"] = img_accuracy / 100;
    img_text = fixed(img_accuracy, 2) + "%";
  } else {
    report.notes.push_back("no answer's prompt holds \"<image>\": eval_science_qa.py raises ZeroDivisionError for IMG-Accuracy");
  }
  report.metrics["img_total"] = img_total;
  report.metrics["img_correct"] = img_correct;
  if (report.counts.missing > 0) {
    report.notes.push_back("missing answers are wrong in Accuracy and left out of IMG-Accuracy's denominator (their prompt "
                           "is \"Unknown\", without \"<image>\"), as eval_science_qa.py does");
  }
  if (report.counts.duplicates > 0) report.notes.push_back("the last answer of a repeated question_id is scored, as eval_science_qa.py does");
  result.printed = {"Total: " + std::to_string(total) + ", Correct: " + std::to_string(correct) +
                    ", Accuracy: " + fixed(accuracy, 2) + "%, IMG-Accuracy: " + img_text};
  return result;
}

// ---------------------------------------------------------------- MME (convert_answer_to_mme.py + calculation.py)

LlavaScore score_mme(const ScoreRequest& request, const std::string& questions_file) {
  LlavaScore result;
  result.script = "MME's convert_answer_to_mme.py + eval_tool/calculation.py";
  auto& report = result.report;
  const auto questions = read_question_jsonl(questions_file);
  std::vector<std::string> absent;
  const auto ground_truth = read_mme_questions(request.data, absent);
  std::map<std::tuple<std::string, std::string, std::string>, bool> truth;
  for (const auto& q : ground_truth) truth[{q.subtask, q.image, q.question}] = q.yes;
  report.counts.items = static_cast<int64_t>(ground_truth.size());

  const auto answers = read_prediction_jsonl(request.predictions, {"text"});
  require_known_ids(answers, request.predictions, ids_of(questions), questions_file);
  report.counts.predictions = static_cast<int64_t>(answers.size());
  struct Answered {
    bool truth_yes = false;
    std::string text;
  };
  std::map<std::string, std::vector<Answered>> by_subtask;  // answer-file order within a subtask
  std::set<std::tuple<std::string, std::string, std::string>> answered;
  std::vector<std::string> problems;
  for (const auto& answer : answers) {
    auto prompt = string_field_or_error(answer, "prompt", request.predictions, problems);
    const auto slash = answer.id.find('/');
    const auto subtask = answer.id.substr(0, slash);
    const auto image_file = answer.id.substr(answer.id.rfind('/') + 1);
    const auto image = image_file.substr(0, image_file.find('.'));
    if (contains(prompt, kShortAnswer)) prompt = strip(replace_all(prompt, kShortAnswer, ""));
    if (!contains(prompt, "Please answer yes or no.")) {
      prompt += " Please answer yes or no.";
      if (!truth.count({subtask, image, prompt})) {
        prompt = replace_all(prompt, " Please answer yes or no.", "  Please answer yes or no.");
      }
    }
    const auto it = truth.find({subtask, image, prompt});
    if (it == truth.end()) {
      problems.push_back(where(request.predictions, answer.line) + "no question \"" + prompt + "\" for " + subtask + "/" +
                         image + ".txt in " + request.data + " (convert_answer_to_mme.py raises KeyError)");
      continue;
    }
    // calculation.py reads the converted file line by line and splits on tabs.
    if (contains(answer.text, "\t") || contains(answer.text, "\n") || contains(answer.text, "\r")) {
      problems.push_back(where(request.predictions, answer.line) +
                         "the answer holds a tab or a line break, which breaks the lines of MME's result files");
      continue;
    }
    by_subtask[subtask].push_back({it->second, answer.text});
    answered.insert(it->first);
  }
  if (!problems.empty()) throw BenchmarkFileError(request.predictions, problems);

  const std::vector<std::pair<std::string, std::vector<std::string>>> groups{
      {"Perception",
       {"existence", "count", "position", "color", "posters", "celebrity", "scene", "landmark", "artwork", "OCR"}},
      {"Cognition", {"commonsense_reasoning", "numerical_calculation", "text_translation", "code_reasoning"}}};
  std::set<std::string> known_subtasks;
  for (const auto& [group, subtasks] : groups) known_subtasks.insert(subtasks.begin(), subtasks.end());
  for (const auto& [subtask, list] : by_subtask) {
    if (!known_subtasks.count(subtask)) {
      report.notes.push_back("answers for '" + subtask + "' are not scored: calculation.py reads MME's 14 subtasks only");
    }
  }
  const auto parse = [](const std::string& text) {
    // calculation.py reads the line with its newline, so an exact "yes"/"no" never occurs:
    // the first 4 characters decide.
    const auto line = lowercase(text + "\n");
    const auto prefix = first_characters(line, 4);
    if (contains(prefix, "yes")) return std::string("yes");
    if (contains(prefix, "no")) return std::string("no");
    return std::string("other");
  };
  for (const auto& [group, subtasks] : groups) {
    result.printed.push_back("=========== " + group + " ===========");
    double scores = 0;
    std::vector<std::string> task_lines;
    nlohmann::ordered_json group_metrics;
    for (const auto& subtask : subtasks) {
      const auto it = by_subtask.find(subtask);
      if (it == by_subtask.end()) {
        report.notes.push_back(subtask + ": no answers (calculation.py stops with FileNotFoundError); left out of " + group);
        continue;
      }
      const auto& list = it->second;
      if (list.size() % 2 != 0) {
        throw BenchmarkFileError(request.predictions,
                                 {request.predictions + ": " + subtask + " has " + std::to_string(list.size()) +
                                  " answers; calculation.py pairs consecutive answers as one image's two questions (its "
                                  "assert fails on an odd count)"});
      }
      int64_t correct = 0, plus = 0, mismatched_pairs = 0;
      for (size_t i = 0; i < list.size(); i += 2) {
        int right = 0;
        for (size_t k = i; k < i + 2; ++k) right += parse(list[k].text) == (list[k].truth_yes ? "yes" : "no");
        correct += right;
        plus += right == 2;
        mismatched_pairs += list[i].truth_yes == list[i + 1].truth_yes;
      }
      if (mismatched_pairs > 0) {
        report.notes.push_back(subtask + ": " + std::to_string(mismatched_pairs) +
                               " consecutive answer pairs are not one image's yes and no question; calculation.py pairs "
                               "them by position anyway");
      }
      const double acc = static_cast<double>(correct) / static_cast<double>(list.size());
      const double acc_plus = static_cast<double>(plus) / static_cast<double>(list.size() / 2);
      const double score = acc * 100 + acc_plus * 100;
      scores += score;
      group_metrics[subtask] = {{"score", score}, {"acc", acc}, {"acc_plus", acc_plus}};
      task_lines.push_back("\t " + subtask + "  score: " + python_float_repr(score));
    }
    report.metrics[group] = {{"total", scores}, {"subtasks", group_metrics}};
    result.printed.push_back("total score: " + python_float_repr(scores) + " ");
    result.printed.push_back("");
    result.printed.insert(result.printed.end(), task_lines.begin(), task_lines.end());
    result.printed.push_back("");
    result.printed.push_back("");
  }
  report.counts.missing = report.counts.items - static_cast<int64_t>(answered.size());
  report.counts.duplicates = static_cast<int64_t>(answers.size() - answered.size());
  return result;
}

// ---------------------------------------------------------------- SEED-Bench (convert_seed_for_submission.py)

LlavaScore score_seedbench(const ScoreRequest& request, const std::string& questions_file) {
  LlavaScore result;
  result.script = "scripts/convert_seed_for_submission.py";
  auto& report = result.report;
  const auto questions = read_question_jsonl(questions_file);
  const auto data = read_json_file(request.data);
  if (!data.is_object() || !data.contains("questions") || !data["questions"].is_array() || !data.contains("question_type") ||
      !data["question_type"].is_object()) {
    throw BenchmarkFileError(request.data, {request.data + ": expected {\"question_type\", \"questions\"} (SEED-Bench.json)"});
  }
  std::map<int64_t, std::string> type_names;
  for (const auto& [name, id] : data["question_type"].items()) {
    if (id.is_number_integer()) type_names[id.get<int64_t>()] = name;
  }
  struct Question {
    std::string id, answer, data_type;
    int64_t type = 0;
  };
  std::vector<Question> all;
  std::vector<std::string> problems;
  for (size_t i = 0; i < data["questions"].size(); ++i) {
    const auto& q = data["questions"][i];
    const auto at = request.data + ": questions[" + std::to_string(i) + "]: ";
    if (!q.is_object() || !q.contains("question_id") || !q.contains("answer") || !q["answer"].is_string() ||
        !q.contains("question_type_id") || !q["question_type_id"].is_number_integer() || !q.contains("data_type") ||
        !q["data_type"].is_string()) {
      problems.push_back(at + "needs question_id, answer, question_type_id and data_type");
      continue;
    }
    // The script reads the id as int(question_id) when it can: "0101" and 101 are one id.
    std::string id = q["question_id"].is_string() ? q["question_id"].get<std::string>() : q["question_id"].dump();
    if (!id.empty() && std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; }) && id.size() < 19) {
      id = std::to_string(std::stoll(id));
    }
    const auto type = q["question_type_id"].get<int64_t>();
    if (!type_names.count(type)) {
      problems.push_back(at + "question_type_id " + std::to_string(type) + " is not in \"question_type\" (the script raises KeyError)");
      continue;
    }
    all.push_back({id, q["answer"].get<std::string>(), q["data_type"].get<std::string>(), type});
  }
  if (!problems.empty()) throw BenchmarkFileError(request.data, problems);

  const auto answers = read_prediction_jsonl(request.predictions, {"text"});
  require_known_ids(answers, request.predictions, ids_of(questions), questions_file);
  report.counts.predictions = static_cast<int64_t>(answers.size());
  std::map<std::string, const PredictionRecord*> results;  // the last answer of an id wins
  for (const auto& answer : answers) {
    report.counts.duplicates += results.count(answer.id);
    results[answer.id] = &answer;
  }
  report.counts.items = static_cast<int64_t>(all.size());
  for (const auto& q : all) report.counts.missing += !results.count(q.id);

  // One pass of the script's eval_single: every question, or only one data_type.
  const auto evaluate = [&](const std::string& only_type, nlohmann::ordered_json& metrics) -> bool {
    std::map<int64_t, std::pair<int64_t, int64_t>> by_type;  // type -> (questions, correct)
    std::set<int64_t> counted;  // the types the script's correct_counts has a key for
    for (const auto& q : all) {
      if (!only_type.empty() && q.data_type != only_type) continue;
      auto& [count, correct] = by_type[q.type];
      ++count;
      const auto it = results.find(q.id);
      const bool right = it != results.end() && it->second->text == q.answer;
      correct += right;
      if (it == results.end() || right) counted.insert(q.type);
    }
    for (const auto& [type, counts] : by_type) {
      if (!counted.count(type) && only_type.empty()) {
        report.notes.push_back("every answer of type '" + type_names.at(type) + "' is wrong: convert_seed_for_submission.py "
                               "raises KeyError there (it keys correct_counts on a right or a missing answer)");
      }
    }
    int64_t total = 0, total_correct = 0;
    for (const auto& [type, counts] : by_type) {
      const double accuracy = static_cast<double>(counts.second) / static_cast<double>(counts.first) * 100;
      if (only_type.empty()) {
        result.printed.push_back(type_names.at(type) + ": " + fixed(accuracy, 2) + "%");
        metrics[type_names.at(type)] = accuracy / 100;
      }
      total += counts.first;
      total_correct += counts.second;
    }
    if (total == 0) return false;
    const double accuracy = static_cast<double>(total_correct) / static_cast<double>(total) * 100;
    result.printed.push_back((only_type.empty() ? std::string("Total") : only_type) + " accuracy: " + fixed(accuracy, 2) + "%");
    metrics[only_type.empty() ? "total" : only_type] = accuracy / 100;
    return true;
  };
  nlohmann::ordered_json per_type, summary;
  evaluate("", per_type);
  for (const char* type : {"image", "video"}) {
    if (!evaluate(type, summary)) {
      report.notes.push_back(std::string("no ") + type + " questions in " + request.data +
                             ": convert_seed_for_submission.py raises ZeroDivisionError here");
    }
  }
  for (const auto& [key, value] : summary.items()) report.metrics[key] = value;
  report.metrics["per_type"] = per_type;
  if (report.counts.missing > 0) {
    report.notes.push_back("missing answers are wrong; convert_seed_for_submission.py then raises KeyError writing the upload "
                           "file, after printing these numbers");
  }
  if (report.counts.duplicates > 0) report.notes.push_back("the last answer of a repeated question_id is scored, as the script does");
  return result;
}

}  // namespace

std::string llava_textvqa_question(const std::string& prompt) {
  std::string question;
  const auto lines = split_keep_empty(prompt, '\n');
  if (prompt.rfind("OCR tokens: ", 0) == 0) {
    // re.search(r"Question: (.*?) Short answer:", prompt, re.DOTALL)
    const auto start = prompt.find("Question: ");
    if (start == std::string::npos) return "";
    const auto end = prompt.find(" Short answer:", start + 10);
    if (end == std::string::npos) return "";
    question = prompt.substr(start + 10, end - start - 10);
  } else if (contains(prompt, "Reference OCR token: ") && lines.size() == 3) {
    question = prompt.rfind("Reference OCR token:", 0) == 0 ? lines[1] : lines[0];
  } else if (lines.size() == 2) {
    question = lines[0];
  } else {
    return "";
  }
  return lowercase(question);
}

std::vector<std::string> llava_benchmark_names() { return {"mme", "pope", "scienceqa", "seedbench", "textvqa"}; }

LlavaScore score_llava_answers(const std::string& benchmark, const ScoreRequest& request, const std::string& questions_file) {
  if (benchmark == "mmbench") {
    throw std::invalid_argument(
        "mmbench: LLaVA prints no MMBench score (scripts/convert_mmbench_for_submission.py only writes the xlsx that "
        "OpenCompass's server scores); LLaVA's MMBench answers are keyed by the TSV's index, so score them without "
        "--questions (VLMEvalKit's circular rule)");
  }
  if (request.data.empty()) throw std::invalid_argument(benchmark + " needs --data (its files; see docs/evaluation.md)");
  LlavaScore result;
  if (benchmark == "pope") result = score_pope(request, questions_file);
  else if (benchmark == "textvqa") result = score_textvqa(request, questions_file);
  else if (benchmark == "scienceqa") result = score_scienceqa(request, questions_file);
  else if (benchmark == "mme") result = score_mme(request, questions_file);
  else if (benchmark == "seedbench") result = score_seedbench(request, questions_file);
  else {
    std::string known;
    for (const auto& name : llava_benchmark_names()) known += (known.empty() ? "" : ", ") + name;
    throw std::invalid_argument("--questions: LLaVA has no scoring script for '" + benchmark + "' (it has: " + known + ")");
  }
  result.report.benchmark = benchmark;
  result.report.scoring = Scoring::Official;
  result.report.notes.push_back("scored by LLaVA's rules (" + result.script + ") on LLaVA's answer file and " + questions_file);
  return result;
}

}  // namespace trol::bench
