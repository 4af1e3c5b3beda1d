// Reading a yes/no answer as POPE's official evaluation does (the script LLaVA ships as
// eval_pope.py): keep the first sentence, drop commas, split on spaces, and the answer is
// "no" when the words contain "No", "no" or "not", "yes" otherwise.
#pragma once

#include <string>

namespace trol {

// true = "yes". Follows POPE's rule exactly, including that an empty answer counts as yes.
bool pope_answer_is_yes(const std::string& answer);

}  // namespace trol
