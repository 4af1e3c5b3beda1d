#include "eval/benchmarks/mmmu.h"

#include <algorithm>
#include <cctype>
#include <regex>
#include <variant>

#include "eval/benchmark_files.h"

namespace trol::bench {

namespace {

// A normalised prediction or accepted answer: a number (round(float, 2)) or a lowercased text.
using Normalised = std::variant<double, std::string>;

// normalize_str.
std::vector<Normalised> normalize_str(const std::string& input) {
  const auto text = strip(input);
  std::string no_commas;
  for (char c : text) {
    if (c != ',') no_commas += c;
  }
  double value = 0;
  if (python_float(no_commas, value)) return {python_round(value, 2)};
  const auto lower = lowercase(text);
  if (lower.size() == 1) return {" " + lower, lower + " "};
  return {lower};
}

// extract_numbers: the three patterns' findall results, one after the other.
std::vector<std::string> extract_numbers(const std::string& text) {
  static const std::regex commas(R"(-?\b\d{1,3}(?:,\d{3})+\b)");
  static const std::regex scientific(R"(-?\d+(?:\.\d+)?[eE][+-]?\d+)");
  static const std::regex simple(R"(-?(?:\d+\.\d+|\.\d+|\d+\b)(?![eE][+-]?\d+)(?![,\d]))");
  std::vector<std::string> numbers;
  for (const auto* pattern : {&commas, &scientific, &simple}) {
    for (std::sregex_iterator it(text.begin(), text.end(), *pattern), end; it != end; ++it) numbers.push_back(it->str());
  }
  return numbers;
}

// get_key_subresponses.
std::vector<std::string> key_subresponses(const std::string& input) {
  const auto response = lowercase(strip(strip(input), "."));
  // re.split(r'\.\s(?=[A-Z])|\n', ...) on lowercased text: only the newlines split.
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t at; (at = response.find('\n', start)) != std::string::npos; start = at + 1) {
    lines.push_back(response.substr(start, at - start));
  }
  lines.push_back(response.substr(start));
  std::vector<std::string> indicators{"could be ", "so ", "is ", "thus ", "therefore ", "final ", "answer ", "result "};
  std::vector<std::string> keys;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i + 1 == lines.size()) indicators.push_back("=");
    std::string shortest;  // Python's None and "" alike: both falsy
    for (const auto& indicator : indicators) {
      const auto at = lines[i].rfind(indicator);
      if (at == std::string::npos) continue;
      const auto tail = strip(lines[i].substr(at + indicator.size()));  // split(indicator)[-1].strip()
      if (shortest.empty() || tail.size() < shortest.size()) shortest = tail;
    }
    static const std::vector<std::string> trivial{":", ",", ".", "!", "?", ";", "'"};
    if (!shortest.empty() && std::find(trivial.begin(), trivial.end(), strip(shortest)) == trivial.end()) {
      keys.push_back(shortest);
    }
  }
  if (keys.empty()) return {response};
  return keys;
}

// "['24/7', '3.429']" -> its strings; anything else -> itself.
std::vector<std::string> accepted_answers(const std::string& answer) {
  if (answer.size() < 2 || answer.front() != '[' || answer.back() != ']') return {answer};
  std::vector<std::string> items;
  size_t i = 1;
  const auto skip_space = [&] {
    while (i < answer.size() && std::isspace(static_cast<unsigned char>(answer[i]))) ++i;
  };
  while (true) {
    skip_space();
    if (i >= answer.size() || (answer[i] != '\'' && answer[i] != '"')) return {answer};
    const char quote = answer[i++];
    const auto end = answer.find(quote, i);
    if (end == std::string::npos) return {answer};
    items.push_back(answer.substr(i, end - i));
    i = end + 1;
    skip_space();
    if (i < answer.size() && answer[i] == ',') {
      ++i;
      continue;
    }
    return i + 1 == answer.size() && answer[i] == ']' ? items : std::vector<std::string>{answer};
  }
}

std::string exact_letter(const std::string& answer, const std::vector<Choice>& choices) {
  for (const auto& choice : choices) {
    if (answer == std::string(1, choice.letter)) return answer;
  }
  return "";
}

std::string subject_of(const ChoiceQuestion& q, bool has_mmmu_ids) {
  if (has_mmmu_ids) {
    // "_".join(id.split("_")[1:-1])
    const auto first = q.id.find('_'), last = q.id.rfind('_');
    return first == std::string::npos || first == last ? "" : q.id.substr(first + 1, last - first - 1);
  }
  const auto it = q.groups.find("category");
  return it == q.groups.end() ? "" : it->second;
}

const std::map<std::string, std::string>& discipline_of_subject() {
  static const std::map<std::string, std::string> table = [] {
    const std::vector<std::pair<std::string, std::vector<std::string>>> domains{
        {"Art and Design", {"Art", "Art_Theory", "Design", "Music"}},
        {"Business", {"Accounting", "Economics", "Finance", "Manage", "Marketing"}},
        {"Science", {"Biology", "Chemistry", "Geography", "Math", "Physics"}},
        {"Health and Medicine",
         {"Basic_Medical_Science", "Clinical_Medicine", "Diagnostics_and_Laboratory_Medicine", "Pharmacy", "Public_Health"}},
        {"Humanities and Social Science", {"History", "Literature", "Sociology", "Psychology"}},
        {"Tech and Engineering",
         {"Agriculture", "Architecture_and_Engineering", "Computer_Science", "Electronics", "Energy_and_Power", "Materials",
          "Mechanical_Engineering"}}};
    std::map<std::string, std::string> map;
    for (const auto& [domain, subjects] : domains) {
      for (const auto& subject : subjects) map[subject] = domain;
    }
    return map;
  }();
  return table;
}

}  // namespace

std::string mmmu_choice_letter(const std::string& input, const std::vector<Choice>& choices) {
  std::string response = input;
  for (const char* c : {",", ".", "!", "?", ";", ":", "'"}) response = strip(response, c);
  response = " " + response + " ";
  std::vector<std::string> candidates;
  bool bracketed = false, by_text = false;
  for (const auto& choice : choices) {
    if (response.find(std::string("(") + choice.letter + ")") != std::string::npos) {
      candidates.emplace_back(1, choice.letter);
      bracketed = true;
    }
  }
  if (candidates.empty()) {
    for (const auto& choice : choices) {
      if (response.find(std::string(" ") + choice.letter + " ") != std::string::npos) candidates.emplace_back(1, choice.letter);
    }
  }
  const auto lower = lowercase(response);
  if (candidates.empty() && split_on_whitespace(response).size() > 5) {
    for (const auto& choice : choices) {
      if (lower.find(lowercase(choice.text)) != std::string::npos) {
        candidates.emplace_back(1, choice.letter);
        by_text = true;
      }
    }
  }
  if (candidates.size() <= 1) return candidates.empty() ? "" : candidates[0];
  // The candidate found last in the answer (np.argmax: the first of equal positions).
  std::string best;
  long best_at = -2;
  for (const auto& candidate : candidates) {
    size_t at;
    if (by_text) {
      const auto text = std::find_if(choices.begin(), choices.end(), [&](const Choice& c) { return c.letter == candidate[0]; });
      at = lower.rfind(lowercase(text->text));
    } else {
      at = response.rfind(bracketed ? "(" + candidate + ")" : " " + candidate + " ");
    }
    const long position = at == std::string::npos ? -1 : static_cast<long>(at);
    if (position > best_at) {
      best_at = position;
      best = candidate;
    }
  }
  return best;
}

bool mmmu_open_correct(const std::string& response, const std::vector<std::string>& accepted) {
  const auto keys = key_subresponses(response);
  std::vector<std::string> raw = keys;
  for (const auto& key : keys) {
    const auto numbers = extract_numbers(key);
    raw.insert(raw.end(), numbers.begin(), numbers.end());
  }
  std::vector<Normalised> predictions, answers;
  for (const auto& r : raw) {
    for (auto& n : normalize_str(r)) predictions.push_back(std::move(n));
  }
  for (const auto& a : accepted) {
    for (auto& n : normalize_str(a)) answers.push_back(std::move(n));
  }
  for (const auto& prediction : predictions) {
    for (const auto& answer : answers) {
      if (const auto* text = std::get_if<std::string>(&prediction)) {
        // A text answer occurring in the text prediction.
        if (const auto* want = std::get_if<std::string>(&answer); want && text->find(*want) != std::string::npos) return true;
      } else if (const auto* number = std::get_if<double>(&answer); number && *number == std::get<double>(prediction)) {
        return true;
      }
    }
  }
  return false;
}

ScoreReport score_mmmu(const ScoreRequest& request) {
  ScoreReport report;
  report.benchmark = "mmmu";
  report.scoring = request.scoring;
  ChoiceTsvColumns columns;
  columns.id = "id";
  columns.id_fallback = "index";
  columns.groups = {"category", "split"};
  columns.open_allowed = true;
  auto questions = read_choice_tsv(request.data, columns);
  keep_asked(questions, request, [](const ChoiceQuestion& q) { return q.id; });
  const bool has_mmmu_ids = read_tsv_table(request.data).column.count("id") > 0;
  report.counts.items = static_cast<int64_t>(questions.size());
  std::map<std::string, int> known;
  for (const auto& q : questions) known[q.id] = 1;
  const auto records = read_prediction_jsonl(request.predictions);
  const auto predictions = index_predictions_by_id(records, known, report.counts, report.notes);

  // Subjects and disciplines as groups, so accuracy_by_group tallies them with the split.
  auto grouped = questions;
  std::vector<bool> right;
  int64_t unknown_subjects = 0;
  for (auto& q : grouped) {
    const auto subject = subject_of(q, has_mmmu_ids);
    q.groups["subject"] = subject;
    const auto domain = discipline_of_subject().find(subject);
    if (domain != discipline_of_subject().end()) q.groups["discipline"] = domain->second;
    else ++unknown_subjects;
    const auto it = predictions.find(q.id);
    if (it == predictions.end()) {
      ++report.counts.missing;
      right.push_back(false);
    } else if (q.open) {
      right.push_back(mmmu_open_correct(it->second->text, accepted_answers(q.answer)));
    } else {
      const auto letter = request.scoring == Scoring::Trol ? exact_letter(it->second->text, q.choices)
                                                           : mmmu_choice_letter(it->second->text, q.choices);
      if (letter.empty()) ++report.counts.unparsable;
      right.push_back(!letter.empty() && letter == q.answer);
    }
  }
  report.metrics = accuracy_by_group(grouped, right, {"split", "discipline", "subject"});
  if (report.counts.unparsable > 0 && request.scoring == Scoring::Official) {
    report.notes.push_back("unparsable multiple-choice answers are wrong here; MMMU's script picks a random letter for them");
  }
  if (unknown_subjects > 0) {
    report.notes.push_back(std::to_string(unknown_subjects) + " question(s) in no MMMU discipline (subject not in "
                           "DOMAIN_CAT2SUB_CAT): counted overall, in no discipline");
  }
  if (request.scoring == Scoring::Trol) {
    report.notes.push_back("trol scoring: a multiple-choice answer must be exactly the letter (TroL "
                           "eval/create_evaluator.py evaluate_mmmu); open questions as MMMU's parse_open_response");
  }
  return report;
}

}  // namespace trol::bench
