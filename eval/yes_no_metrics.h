// Yes/no answer scoring as POPE's official evaluation does it (the script LLaVA ships as
// eval_pope.py): keep the first sentence, drop commas, split on spaces, and the answer is
// "no" when the words contain "No", "no" or "not", "yes" otherwise. "yes" is the positive class.
#pragma once

#include <string>
#include <vector>

namespace trol {

// true = "yes". Follows POPE's rule exactly, including that an empty answer counts as yes.
bool pope_answer_is_yes(const std::string& answer);

struct YesNoMetrics {
  int64_t true_positive = 0, false_positive = 0, true_negative = 0, false_negative = 0;
  double accuracy = 0, precision = 0, recall = 0, f1 = 0, yes_ratio = 0;
};

// predictions: model answers as text; labels: ground truth, true = yes. Sizes must match.
YesNoMetrics score_yes_no(const std::vector<std::string>& predictions, const std::vector<bool>& labels);

}  // namespace trol
