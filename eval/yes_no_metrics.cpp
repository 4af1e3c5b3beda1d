#include "eval/yes_no_metrics.h"

#include <sstream>

namespace trol {

bool pope_answer_is_yes(const std::string& answer) {
  std::string text = answer.substr(0, answer.find('.'));
  std::string no_commas;
  for (char c : text) {
    if (c != ',') no_commas += c;
  }
  // Python's str.split(' ') splits on single spaces only, so "no\n" is not the word "no".
  std::stringstream words(no_commas);
  std::string word;
  while (std::getline(words, word, ' ')) {
    if (word == "No" || word == "no" || word == "not") return false;
  }
  return true;
}

}  // namespace trol
