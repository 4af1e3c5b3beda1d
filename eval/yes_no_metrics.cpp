#include "eval/yes_no_metrics.h"

#include <sstream>
#include <stdexcept>

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

YesNoMetrics score_yes_no(const std::vector<std::string>& predictions, const std::vector<bool>& labels) {
  if (predictions.size() != labels.size()) {
    throw std::invalid_argument("score_yes_no: " + std::to_string(predictions.size()) + " predictions for " +
                                std::to_string(labels.size()) + " labels");
  }
  YesNoMetrics m;
  for (size_t i = 0; i < labels.size(); ++i) {
    const bool yes = pope_answer_is_yes(predictions[i]);
    if (yes && labels[i]) ++m.true_positive;
    else if (yes) ++m.false_positive;
    else if (labels[i]) ++m.false_negative;
    else ++m.true_negative;
  }
  const auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
  const double n = static_cast<double>(labels.size());
  m.precision = ratio(m.true_positive, m.true_positive + m.false_positive);
  m.recall = ratio(m.true_positive, m.true_positive + m.false_negative);
  m.f1 = ratio(2 * m.precision * m.recall, m.precision + m.recall);
  m.accuracy = ratio(m.true_positive + m.true_negative, n);
  m.yes_ratio = ratio(m.true_positive + m.false_positive, n);
  return m;
}

}  // namespace trol
