#include "eval/answer_scoring.h"

#include <cctype>
#include <map>

#include "eval/benchmarks/score_common.h"

namespace trol {
namespace {

using bench::split_on_whitespace;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

using bench::lowercase;

std::string replace_all(std::string text, char from, const std::string& to) {
  std::string out;
  for (char c : text) {
    if (c == from) out += to;
    else out += c;
  }
  return out;
}

// Step 2 of the VQA normalisation (processPunctuation), decisions taken on the input text.
std::string process_punctuation(const std::string& text) {
  static const std::string punctuation = ";/[]\"{}()=+\\_-><@`,?!";
  bool digit_comma_digit = false;  // the official commaStrip pattern (\d)(,)(\d)
  for (size_t i = 1; i + 1 < text.size(); ++i) {
    if (text[i] == ',' && is_digit(text[i - 1]) && is_digit(text[i + 1])) digit_comma_digit = true;
  }
  std::string out = text;
  for (char p : punctuation) {
    const bool touches_space = text.find(std::string(1, p) + " ") != std::string::npos ||
                               text.find(" " + std::string(1, p)) != std::string::npos;
    out = replace_all(out, p, touches_space || digit_comma_digit ? "" : " ");
  }
  // The official periodStrip: a '.' goes unless a digit follows it.
  std::string no_periods;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == '.' && !(i + 1 < out.size() && is_digit(out[i + 1]))) continue;
    no_periods += out[i];
  }
  return no_periods;
}

const std::map<std::string, std::string>& number_words() {
  static const std::map<std::string, std::string> map{
      {"none", "0"}, {"zero", "0"}, {"one", "1"}, {"two", "2"}, {"three", "3"}, {"four", "4"},
      {"five", "5"}, {"six", "6"},  {"seven", "7"}, {"eight", "8"}, {"nine", "9"}, {"ten", "10"}};
  return map;
}

// The subset of the official contractions table listed in answer_scoring.h.
const std::map<std::string, std::string>& contractions() {
  static const std::map<std::string, std::string> map{
      {"aint", "ain't"},       {"arent", "aren't"},   {"cant", "can't"},       {"couldnt", "couldn't"},
      {"didnt", "didn't"},     {"doesnt", "doesn't"}, {"dont", "don't"},       {"hadnt", "hadn't"},
      {"hasnt", "hasn't"},     {"havent", "haven't"}, {"isnt", "isn't"},       {"mightnt", "mightn't"},
      {"mustnt", "mustn't"},   {"neednt", "needn't"}, {"shouldnt", "shouldn't"}, {"wasnt", "wasn't"},
      {"werent", "weren't"},   {"wont", "won't"},     {"wouldnt", "wouldn't"}, {"hes", "he's"},
      {"thats", "that's"},     {"theres", "there's"}, {"whats", "what's"},     {"wheres", "where's"},
      {"whos", "who's"},       {"youre", "you're"},   {"theyre", "they're"},   {"youve", "you've"},
      {"theyve", "they've"},   {"weve", "we've"},     {"itll", "it'll"},       {"youll", "you'll"},
      {"theyll", "they'll"},   {"oclock", "o'clock"}};
  return map;
}

// MMBench's letter rule: exactly one option letter standing alone as a word.
std::string letter_standing_alone(const std::string& prediction, size_t option_count) {
  static const std::string separators = ".()[],:;!*#{}";
  std::string spaced = prediction;
  for (char& c : spaced) {
    if (separators.find(c) != std::string::npos) c = ' ';
  }
  const auto words = split_on_whitespace(spaced);
  std::string found;
  int count = 0;
  for (size_t i = 0; i < option_count; ++i) {
    const std::string letter(1, static_cast<char>('A' + i));
    for (const auto& word : words) {
      if (word == letter) {
        found = letter;
        ++count;
        break;
      }
    }
  }
  return count == 1 ? found : "";
}

// MMBench's text rule: the text of exactly one option occurs in the answer (case-insensitive).
std::string option_text_contained(const std::string& prediction, const std::vector<std::string>& options) {
  const auto answer = lowercase(prediction);
  std::string found;
  int count = 0;
  for (size_t i = 0; i < options.size(); ++i) {
    if (options[i].empty() || answer.find(lowercase(options[i])) == std::string::npos) continue;
    found = std::string(1, static_cast<char>('A' + i));
    ++count;
  }
  return count == 1 ? found : "";
}


}  // namespace

std::string normalize_answer(const std::string& answer) {
  std::string text = answer;
  for (char& c : text) {
    if (c == '\n' || c == '\t') c = ' ';
  }
  const auto first = text.find_first_not_of(" \t\n\v\f\r");
  text = first == std::string::npos ? "" : text.substr(first, text.find_last_not_of(" \t\n\v\f\r") - first + 1);
  text = process_punctuation(text);

  std::string out;
  for (auto word : split_on_whitespace(lowercase(text))) {
    if (const auto digit = number_words().find(word); digit != number_words().end()) word = digit->second;
    if (word == "a" || word == "an" || word == "the") continue;
    if (const auto full = contractions().find(word); full != contractions().end()) word = full->second;
    out += (out.empty() ? "" : " ") + word;
  }
  return out;
}

bool vqa_match(const std::string& prediction, const std::string& answer) {
  return normalize_answer(prediction) == normalize_answer(answer);
}

std::string extract_option_letter(const std::string& prediction, const std::vector<std::string>& options) {
  if (options.empty() || options.size() > 26) return "";
  auto letter = letter_standing_alone(prediction, options.size());
  if (letter.empty()) letter = option_text_contained(prediction, options);
  return letter;
}

}  // namespace trol
