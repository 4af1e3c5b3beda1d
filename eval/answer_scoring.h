// Reading free-text answers by the rules the public benchmarks' scripts use: the official VQA
// answer normalisation (vqa, eval/benchmarks/vqa.h) and MMBench's rule-based option matching
// (mmbench, eval/benchmarks/mmbench.h). POPE's yes/no rule is in yes_no_metrics.h.
#pragma once

#include <string>
#include <vector>

namespace trol {

// The official VQA evaluation's answer processing (vqaEval.py, also in LLaVA's m4c_evaluator):
//   1. newlines and tabs become spaces, surrounding whitespace is stripped;
//   2. punctuation ; / [ ] " { } ( ) = + \ _ - > < @ ` , ? ! is removed when it touches a
//      space somewhere in the text or the text has a digit,digit comma, else replaced by a
//      space; a '.' is removed unless a digit follows it ("2.5" stays, "two." loses it);
//      apostrophes and colons are kept ("don't", "10:30");
//   3. lowercased, split on whitespace; number words "none" "zero" ... "ten" become digits
//      (the official manualMap: none -> 0, zero -> 0, one -> 1, ..., ten -> 10); the articles
//      a, an, the are dropped;
//   4. contractions written without an apostrophe get it back, from a subset of the official
//      table: the n't forms (aint arent cant couldnt didnt doesnt dont hadnt hasnt havent isnt
//      mightnt mustnt neednt shouldnt wasnt werent wont wouldnt), the 's / 're / 've / 'll forms
//      (hes thats theres whats wheres whos youre theyre youve theyve weve itll youll theyll)
//      and oclock -> o'clock. The official table's capitalised keys ("Im", "Ive") never match
//      after lowercasing and it has no "shes", so "im", "ive" and "shes" stay as they are here too.
//   Words are joined by single spaces.
std::string normalize_answer(const std::string& answer);

// Exact match of normalize_answer on both sides (the VQA metric with one reference answer).
bool vqa_match(const std::string& prediction, const std::string& answer);

// The option letter a free-text answer picks, by MMBench's rules (can_infer in its
// evaluation code) for options A, B, ... (`options` in letter order):
//   1. letters: the characters . ( ) [ ] , : ; ! * # { } become spaces and the answer is split
//      on whitespace; if exactly one of the option letters stands alone as a word, it is the
//      answer: "B", "B.", "(B)", "B) a cat", "The answer is B." all give B. Letters are
//      case-sensitive, as in MMBench: "(b)" is not the letter B (a lowercase "a" is too often
//      the article), and "A cat. The answer is B" names two letters, so rule 1 fails;
//   2. otherwise, option texts: if the text of exactly one option occurs in the answer
//      (both lowercased), its letter.
// Anything else (no letter and no option text, or several) gives "" (unparsable).
std::string extract_option_letter(const std::string& prediction, const std::vector<std::string>& options);

}  // namespace trol
