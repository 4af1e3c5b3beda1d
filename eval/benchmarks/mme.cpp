#include "eval/benchmarks/mme.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "eval/benchmark_files.h"

namespace trol::bench {
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kPerception{"existence", "count",     "position", "color",    "posters",
                                           "celebrity", "scene",     "landmark", "artwork",  "OCR"};
const std::vector<std::string> kCognition{"commonsense_reasoning", "numerical_calculation", "text_translation",
                                          "code_reasoning"};

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> fields;
  std::stringstream in(line);
  std::string field;
  while (std::getline(in, field, '\t')) fields.push_back(field);
  if (!line.empty() && line.back() == '\t') fields.emplace_back();
  return fields;
}

std::string collapse_spaces(const std::string& text) {
  std::string out;
  for (char c : text) {
    const bool space = std::isspace(static_cast<unsigned char>(c)) != 0;
    if (space && (out.empty() || out.back() == ' ')) continue;
    out += space ? ' ' : c;
  }
  return strip(out);
}

std::string remove_all(std::string text, const std::string& what) {
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what)) text.erase(at, what.size());
  return text;
}

// The question as a matching key: instructions LLaVA adds or removes taken out.
std::string question_key(const std::string& question) {
  auto text = remove_all(question, "Answer the question using a single word or phrase.");
  text = remove_all(text, "Please answer yes or no.");
  return collapse_spaces(text);
}

std::string key_of(const std::string& subtask, const std::string& image, const std::string& question) {
  return subtask + "/" + fs::path(image).stem().string() + "\t" + question_key(question);
}

// The folder's .txt files, in name order (both of MME's formats are one file per subtask or image).
std::vector<fs::path> text_files(const fs::path& folder) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (entry.is_regular_file() && entry.path().extension() == ".txt") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<MmeQuestion> read_subtask(const fs::path& folder, const std::string& subtask, std::vector<std::string>& problems) {
  const auto qa = fs::is_directory(folder / "questions_answers_YN") ? folder / "questions_answers_YN" : folder;
  std::vector<MmeQuestion> questions;
  for (const auto& file : text_files(qa)) {
    std::ifstream in(file);
    std::string line;
    for (int64_t number = 1; std::getline(in, line); ++number) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (is_blank(line)) continue;
      const auto fields = split_tabs(strip(line));
      const auto where = file.string() + ":" + std::to_string(number) + ": ";
      if (fields.size() != 2) {
        problems.push_back(where + "expected \"question<TAB>Yes|No\", got " + std::to_string(fields.size()) + " field(s)");
        continue;
      }
      const auto answer = lowercase(strip(fields[1]));
      if (answer != "yes" && answer != "no") {
        problems.push_back(where + "answer must be Yes or No, got \"" + fields[1] + "\"");
        continue;
      }
      questions.push_back({subtask, file.stem().string(), fields[0], answer == "yes"});
    }
  }
  return questions;
}

// Predictions keyed like the questions, from either format; `lines` mirrors them for the
// shared counting of duplicates and unknown keys.
std::vector<PredictionRecord> read_predictions(const std::string& path, std::vector<std::string>& keys) {
  std::vector<PredictionRecord> records;
  if (fs::is_directory(path)) {
    std::vector<std::string> problems;
    for (const auto& file : text_files(path)) {
      std::ifstream in(file);
      std::string line;
      for (int64_t number = 1; std::getline(in, line); ++number) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (is_blank(line)) continue;
        const auto fields = split_tabs(line);
        if (fields.size() != 4) {
          problems.push_back(file.string() + ":" + std::to_string(number) +
                             ": expected \"image<TAB>question<TAB>ground truth<TAB>prediction\", got " +
                             std::to_string(fields.size()) + " field(s)");
          continue;
        }
        PredictionRecord record;
        record.line = number;
        record.id = file.stem().string() + "/" + fields[0];
        record.text = fields[3];
        keys.push_back(key_of(file.stem().string(), fields[0], fields[1]));
        records.push_back(std::move(record));
      }
    }
    if (!problems.empty()) throw BenchmarkFileError(path, problems);
    return records;
  }
  records = read_prediction_jsonl(path, {"text"});
  std::vector<std::string> problems;
  for (const auto& record : records) {
    const auto slash = record.id.find('/');
    const auto prompt = record.object.find("prompt");
    const auto where = path + ":" + std::to_string(record.line) + ": ";
    if (slash == std::string::npos) problems.push_back(where + "question_id must be \"<subtask>/<image>\", got \"" + record.id + "\"");
    if (prompt == record.object.end() || !prompt->is_string()) {
      problems.push_back(where + "missing the question as \"prompt\" (MME has two questions per image)");
    }
    if (!problems.empty()) continue;
    keys.push_back(key_of(record.id.substr(0, slash), record.id.substr(record.id.rfind('/') + 1), prompt->get<std::string>()));
  }
  if (!problems.empty()) throw BenchmarkFileError(path, problems);
  return records;
}

}  // namespace

std::string mme_item_key(const MmeQuestion& question) {
  return question.subtask + "/" + question.image + "\t" + question.question;
}

std::vector<MmeQuestion> read_mme_questions(const std::string& data, std::vector<std::string>& absent) {
  if (!fs::is_directory(data)) {
    throw BenchmarkFileError(data, {data + ": not a folder (expected MME_Benchmark_release_version/)"});
  }
  std::vector<std::string> problems;
  std::vector<MmeQuestion> questions;
  for (const auto* group : {&kPerception, &kCognition}) {
    for (const auto& subtask : *group) {
      const auto folder = fs::path(data) / subtask;
      if (!fs::is_directory(folder)) {
        absent.push_back(subtask);
        continue;
      }
      auto part = read_subtask(folder, subtask, problems);
      questions.insert(questions.end(), part.begin(), part.end());
    }
  }
  if (!problems.empty()) throw BenchmarkFileError(data, problems);
  if (questions.empty() && absent.size() == kPerception.size() + kCognition.size()) {
    throw BenchmarkFileError(data, {data + ": holds no MME subtask folder"});
  }
  return questions;
}

std::string mme_parse_answer(const std::string& answer) {
  const auto text = lowercase(answer);
  if (text == "yes" || text == "no") return text;
  // Python's pred_ans[:4]: four characters (UTF-8 code points), not bytes.
  size_t end = 0;
  for (int characters = 0; characters < 4 && end < text.size(); ++characters) {
    ++end;
    while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) ++end;
  }
  const auto prefix = text.substr(0, end);
  if (prefix.find("yes") != std::string::npos) return "yes";
  if (prefix.find("no") != std::string::npos) return "no";
  return "other";
}

ScoreReport score_mme(const ScoreRequest& request) {
  ScoreReport report;
  report.benchmark = "mme";
  report.scoring = request.scoring;
  std::vector<std::string> absent;
  std::map<std::string, std::vector<MmeQuestion>> by_subtask;
  auto questions = read_mme_questions(request.data, absent);
  keep_asked(questions, request, [](const MmeQuestion& q) { return mme_item_key(q); });
  for (const auto* group : {&kPerception, &kCognition}) {
    for (const auto& subtask : *group) {
      if (std::find(absent.begin(), absent.end(), subtask) == absent.end()) by_subtask[subtask];  // present, maybe empty
    }
  }
  for (auto& q : questions) by_subtask[q.subtask].push_back(std::move(q));

  std::map<std::string, int> known;
  for (const auto& [subtask, questions] : by_subtask) {
    for (const auto& q : questions) {
      if (!known.emplace(key_of(subtask, q.image, q.question), 1).second) {
        throw BenchmarkFileError(request.data, {request.data + ": subtask " + subtask + ", image " + q.image +
                                                    ": the question \"" + q.question + "\" appears twice"});
      }
      ++report.counts.items;
    }
  }
  std::vector<std::string> keys;
  const auto records = read_predictions(request.predictions, keys);
  const auto predictions = index_predictions(records, keys, known, report.counts, report.notes);

  nlohmann::ordered_json subtasks = nlohmann::ordered_json::object();
  for (const auto& [group, names] : {std::pair{"perception", &kPerception}, std::pair{"cognition", &kCognition}}) {
    double total = 0;
    for (const auto& subtask : *names) {
      if (!by_subtask.count(subtask)) continue;
      int64_t correct = 0, other = 0, missing = 0;
      std::map<std::string, bool> image_all_right;  // image -> every question right so far
      for (const auto& q : by_subtask[subtask]) {
        auto [image, fresh] = image_all_right.emplace(q.image, true);
        const auto it = predictions.find(key_of(subtask, q.image, q.question));
        bool right = false;
        if (it == predictions.end()) {
          ++missing;
        } else {
          const auto parsed = mme_parse_answer(it->second->text);
          if (parsed == "other") ++other;
          right = parsed == (q.yes ? "yes" : "no");
        }
        correct += right;
        image->second = image->second && right;
      }
      int64_t images_right = 0;
      for (const auto& [image, right] : image_all_right) images_right += right;
      const double questions = static_cast<double>(by_subtask[subtask].size());
      const double acc = questions > 0 ? 100.0 * static_cast<double>(correct) / questions : 0.0;
      const double acc_plus =
          image_all_right.empty() ? 0.0 : 100.0 * static_cast<double>(images_right) / static_cast<double>(image_all_right.size());
      subtasks[subtask] = {{"acc", acc},         {"acc_plus", acc_plus},         {"score", acc + acc_plus},
                           {"questions", by_subtask[subtask].size()}, {"images", image_all_right.size()},
                           {"other", other},     {"missing", missing}};
      report.counts.unparsable += other;
      report.counts.missing += missing;
      total += acc + acc_plus;
    }
    report.metrics[group] = total;
  }
  report.metrics["total"] = report.metrics["perception"].get<double>() + report.metrics["cognition"].get<double>();
  report.metrics["subtasks"] = subtasks;
  if (!absent.empty()) {
    std::string names;
    for (const auto& name : absent) names += (names.empty() ? "" : ", ") + name;
    report.notes.push_back("subtask folder(s) absent from the data, left out of the sums: " + names);
  }
  report.notes.push_back("scores are MME's points: 100 * (acc + acc+) per subtask, summed per group");
  if (request.scoring == Scoring::Trol) {
    report.notes.push_back("trol scoring: TroL's MMEEvaluator applies the official rule; the numbers are the same");
  }
  return report;
}

}  // namespace trol::bench
