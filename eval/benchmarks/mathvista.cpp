#include "eval/benchmarks/mathvista.h"

#include <algorithm>
#include <cmath>
#include <fstream>

#include "eval/benchmark_files.h"

namespace trol::bench {

namespace {

// Of characters, as Python's Levenshtein package counts. (trol_model's edit_distance counts
// bytes, and this scoring library stays free of LibTorch.)
size_t levenshtein(const std::string& a_text, const std::string& b_text) {
  std::vector<uint32_t> a, b;
  // A Python str is never invalid UTF-8; bytes that are not UTF-8 count one by one.
  if (!utf8_code_points(a_text, a)) a.assign(a_text.begin(), a_text.end());
  if (!utf8_code_points(b_text, b)) b.assign(b_text.begin(), b_text.end());
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

MathVistaProblem read_problem(const nlohmann::json& p) {
  MathVistaProblem problem;
  problem.question_type = p.value("question_type", "");
  problem.answer_type = p.value("answer_type", "");
  const auto& answer = p.at("answer");
  problem.answer = answer.is_string() ? answer.get<std::string>() : answer.dump();
  if (p.contains("choices") && p["choices"].is_array()) {
    for (const auto& c : p["choices"]) problem.choices.push_back(c.is_string() ? c.get<std::string>() : c.dump());
  }
  if (p.contains("precision") && p["precision"].is_number()) {
    problem.has_precision = true;
    problem.precision = static_cast<int>(p["precision"].get<double>());
  }
  return problem;
}

}  // namespace

bool mathvista_rule_extract(const std::string& response, const MathVistaProblem& problem, std::string& extraction) {
  if (response.empty()) {
    extraction = "";
    return true;
  }
  if (problem.question_type == "multi_choice" &&
      std::find(problem.choices.begin(), problem.choices.end(), response) != problem.choices.end()) {
    extraction = response;
    return true;
  }
  double value = 0;
  if (problem.answer_type == "integer" && python_int(response, extraction)) return true;
  if (problem.answer_type == "float" && python_float(response, value)) {
    extraction = python_float_repr(value);
    return true;
  }
  // --quick_extract: re.search(r'The answer is "(.*)"\.'): greedy, within one line.
  const std::string open = "The answer is \"";
  for (size_t at = response.find(open); at != std::string::npos; at = response.find(open, at + 1)) {
    const size_t start = at + open.size();
    const size_t line_end = std::min(response.find('\n', start), response.size());
    const auto line = response.substr(start, line_end - start);
    const auto close = line.rfind("\".");
    if (close != std::string::npos) {
      extraction = line.substr(0, close);
      return true;
    }
  }
  return false;
}

bool mathvista_normalize(const std::string& raw, const MathVistaProblem& problem, std::string& prediction) {
  if (problem.question_type == "multi_choice") {
    std::string extraction = python_strip(raw);
    for (size_t i = 0; i + 2 < extraction.size(); ++i) {
      if (extraction[i] == '(' && std::isalpha(static_cast<unsigned char>(extraction[i + 1])) && extraction[i + 2] == ')') {
        extraction = std::string(1, static_cast<char>(std::toupper(static_cast<unsigned char>(extraction[i + 1]))));
        break;
      }
    }
    if (problem.choices.empty()) return false;
    if (extraction.size() == 1 && extraction[0] >= 'A' && extraction[0] < 'A' + static_cast<int>(problem.choices.size())) {
      prediction = problem.choices[static_cast<size_t>(extraction[0] - 'A')];
      return true;
    }
    size_t best = 0;
    for (size_t i = 1; i < problem.choices.size(); ++i) {
      if (levenshtein(extraction, problem.choices[i]) < levenshtein(extraction, problem.choices[best])) best = i;
    }
    prediction = problem.choices[best];
    return true;
  }
  double value = 0;
  if (problem.answer_type == "integer") {
    if (!python_float(raw, value) || !std::isfinite(value)) return false;
    char buffer[400];
    std::snprintf(buffer, sizeof buffer, "%.0f", std::trunc(value));
    prediction = std::string(buffer) == "-0" ? "0" : buffer;
    return true;
  }
  if (problem.answer_type == "float") {
    if (!problem.has_precision || !python_float(raw, value)) return false;
    prediction = python_float_repr(python_round(value, problem.precision));
    return true;
  }
  prediction = raw;
  return true;
}

ScoreReport score_mathvista(const ScoreRequest& request) {
  ScoreReport report;
  report.benchmark = "mathvista";
  report.scoring = request.scoring;
  const auto data = read_json_file(request.data);
  if (!data.is_object()) throw BenchmarkFileError(request.data, {request.data + ": expected {pid: problem} (testmini.json)"});
  std::map<std::string, MathVistaProblem> problems;
  std::map<std::string, int> known;
  std::vector<std::string> bad;
  for (const auto& [pid, p] : data.items()) {
    if (!request.asks(pid)) continue;
    if (!p.is_object() || !p.contains("answer")) {
      bad.push_back(request.data + ": problem " + pid + " has no answer");
      continue;
    }
    problems[pid] = read_problem(p);
    known[pid] = 1;
  }
  if (!bad.empty()) throw BenchmarkFileError(request.data, bad);
  report.counts.items = static_cast<int64_t>(problems.size());

  // Predictions: MathVista's output JSON (one object) or JSONL.
  std::vector<PredictionRecord> records;
  std::ifstream probe(request.predictions);
  if (!probe) throw BenchmarkFileError(request.predictions, {request.predictions + ": cannot open the file (missing or unreadable)"});
  // One JSON object keyed by pid is MathVista's output file; anything else is read as JSONL
  // (whose errors then name file:line).
  const auto output = nlohmann::json::parse(probe, nullptr, /*allow_exceptions=*/false);
  const bool output_json = output.is_object() && !output.contains("question_id");
  if (output_json) {
    std::vector<std::string> problems_found;
    for (const auto& [pid, entry] : output.items()) {
      PredictionRecord record;
      record.id = pid;
      record.object = entry;
      if (!entry.is_object() || !entry.contains("response") || !entry["response"].is_string()) {
        problems_found.push_back(request.predictions + ": " + pid + ": no \"response\" string");
        continue;
      }
      record.text = entry["response"].get<std::string>();
      records.push_back(std::move(record));
    }
    if (!problems_found.empty()) throw BenchmarkFileError(request.predictions, problems_found);
  } else {
    records = read_prediction_jsonl(request.predictions);
  }
  const auto predictions = index_predictions_by_id(records, known, report.counts, report.notes);

  int64_t correct = 0, need_gpt = 0, empty_choice_extractions = 0;
  std::map<std::string, std::pair<int64_t, int64_t>> by_type;  // question_type -> (correct, total)
  for (const auto& [pid, problem] : problems) {
    auto& type = by_type[problem.question_type];
    ++type.second;
    const auto it = predictions.find(pid);
    if (it == predictions.end()) {
      ++report.counts.missing;
      continue;
    }
    std::string extraction;
    const auto& object = it->second->object;
    // extract_answer.py keeps an extraction that is not blank after .strip() and extracts the
    // others again from the response.
    if (object.contains("extraction") && object["extraction"].is_string() &&
        !python_strip(object["extraction"].get<std::string>()).empty()) {
      extraction = object["extraction"].get<std::string>();
    } else if (!mathvista_rule_extract(it->second->text, problem, extraction)) {
      ++need_gpt;
      ++report.counts.unparsable;
      continue;
    }
    // An empty extraction (an empty response) is normalized like any other: a multi-choice one
    // becomes the choice nearest to "" by edit distance, the shortest.
    if (problem.question_type == "multi_choice" && python_strip(extraction).empty()) ++empty_choice_extractions;
    std::string prediction;
    if (!mathvista_normalize(extraction, problem, prediction)) {
      ++report.counts.unparsable;
    } else if (prediction == problem.answer) {
      ++correct;
      ++type.first;
    }
  }
  report.metrics["accuracy"] = problems.empty() ? 0.0 : static_cast<double>(correct) / static_cast<double>(problems.size());
  report.metrics["correct"] = correct;
  report.metrics["questions"] = problems.size();
  for (const auto& [type, counts] : by_type) {
    report.metrics[type] = {{"accuracy", counts.second ? static_cast<double>(counts.first) / static_cast<double>(counts.second) : 0.0},
                            {"questions", counts.second}};
  }
  report.metrics["need_gpt_extraction"] = need_gpt;
  if (need_gpt > 0) {
    report.notes.push_back(std::to_string(need_gpt) + " response(s) need MathVista's GPT-4 answer extraction, which trol "
                           "does not run: scored wrong here, so this accuracy is a lower bound; --export FILE writes the "
                           "output JSON for MathVista's extract_answer.py");
  }
  if (empty_choice_extractions > 0) {
    report.notes.push_back(std::to_string(empty_choice_extractions) + " multi-choice answer(s) with an empty extraction "
                           "took the choice nearest to \"\" by edit distance (the shortest, the first of equals), as "
                           "calculate_score.py's normalize_extracted_answer does");
  }
  if (report.counts.missing > 0) {
    // A deliberate difference: a partial output file must not look like a better model.
    const auto answered = static_cast<int64_t>(problems.size()) - report.counts.missing;
    report.notes.push_back(std::to_string(report.counts.missing) + " problem(s) without a response are scored wrong over "
                           "all " + std::to_string(problems.size()) + " problems of --data; calculate_score.py divides "
                           "by the problems in its output file only: " + std::to_string(correct) + "/" +
                           std::to_string(answered) + " here");
  }
  if (!request.export_path.empty()) {
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    for (const auto& [pid, record] : predictions) {
      nlohmann::ordered_json entry = data[pid];
      entry["pid"] = pid;
      entry["response"] = record->text;
      if (record->object.contains("extraction")) entry["extraction"] = record->object["extraction"];
      out[pid] = entry;
    }
    std::ofstream(request.export_path) << out.dump(2) << "\n";
    report.notes.push_back("wrote " + request.export_path + " for MathVista's extract_answer.py and calculate_score.py");
  }
  if (request.scoring == Scoring::Trol) {
    report.notes.push_back("trol scoring: TroL's eval/mathvista/ is MathVista's own scorer; the numbers are the same");
  }
  return report;
}

}  // namespace trol::bench
