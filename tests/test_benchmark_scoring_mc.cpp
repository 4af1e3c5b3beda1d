// trol score on the multiple-choice and yes/no benchmarks added after the first seven: AI2D,
// SEED-IMG, MMStar, MMMU, HallusionBench (fixtures in tests/fixtures/benchmarks/<name>/, each
// in the benchmark's own or VLMEvalKit's format). Every expectation is worked out by hand in
// the comment next to it, from the official rules (and the TroL authors' variant).
#include "tests/catch.h"

#include "benchmark_fixtures.h"
#include "eval/benchmarks/hallusionbench.h"
#include "eval/benchmarks/mmmu.h"
#include "eval/benchmarks/multiple_choice.h"
#include "eval/benchmark_files.h"

namespace test_benchmark_scoring_mc {

using namespace trol;
using namespace trol::bench;

namespace {

double value_at(const ScoreReport& report, std::initializer_list<const char*> path) {
  const nlohmann::ordered_json* node = &report.metrics;
  for (const char* key : path) node = &node->at(key);
  return node->get<double>();
}

const std::vector<Choice> kFour{{'A', "cat"}, {'B', "dog"}, {'C', "bird"}, {'D', "fish"}};

}  // namespace

TEST_CASE("VLMEvalKit's can_infer: letters, refusals, 'answer is', option texts", "[benchmarks]") {
  CHECK(vlmevalkit_can_infer("B", kFour) == "B");
  CHECK(vlmevalkit_can_infer("(B)", kFour) == "B");
  CHECK(vlmevalkit_can_infer("The answer is (B).", kFour) == "B");
  CHECK(vlmevalkit_can_infer("B. dog", kFour) == "B");
  CHECK(vlmevalkit_can_infer("b", kFour) == "");                 // letters are case-sensitive
  CHECK(vlmevalkit_can_infer("I think the answer is c", kFour) == "C");  // the verbose regex ignores case
  CHECK(vlmevalkit_can_infer("**Answer is D**", kFour) == "D");
  // One letter, but not among the last four words; too long for the text rule.
  CHECK(vlmevalkit_can_infer("B is right because the dog barks at night", kFour) == "");
  CHECK(vlmevalkit_can_infer("A or B", kFour) == "");            // two letters; "a" and "b"? no option text
  CHECK(vlmevalkit_can_infer("a dog", kFour) == "B");            // the text rule: "dog" only
  CHECK(vlmevalkit_can_infer("cat or dog", kFour) == "");        // two option texts
  CHECK(vlmevalkit_can_infer("Cannot determine the answer", kFour) == "Z");
  CHECK(vlmevalkit_can_infer("Z", kFour) == "Z");
  CHECK(vlmevalkit_can_infer("Failed to obtain answer via API", kFour) == "");
  CHECK(pandas_reads_nan("None"));
  CHECK(pandas_reads_nan(""));
  CHECK_FALSE(pandas_reads_nan("none"));
}

TEST_CASE("AI2D: VLMEvalKit's letter rule, and TroL's first capital letter", "[benchmarks]") {
  const auto official = score("ai2d", "ai2d/AI2D_TEST.tsv", "ai2d/predictions.jsonl");
  // 0 "The answer is (B)." B right; 1 "c" unparsable (lowercase, no option text); 2 "A." right;
  // 3 "There are four" -> option text "four": D right; 4 "B. right" right; 5 missing;
  // 6 "A is right because ..." A is not in the last four words and the answer is longer than
  // twice the options: unparsable. 4 of 7.
  CHECK(value_at(official, {"accuracy"}) == Approx(4.0 / 7.0));
  CHECK(official.counts.items == 7);
  CHECK(official.counts.predictions == 8);
  CHECK(official.counts.missing == 1);
  CHECK(official.counts.unparsable == 2);
  CHECK(official.counts.duplicates == 1);
  CHECK(official.counts.unknown == 1);
  // TroL: T (wrong), none (unparsable), A, T (wrong), B, -, A: 3 of 7.
  const auto trol = score("ai2d", "ai2d/AI2D_TEST.tsv", "ai2d/predictions.jsonl", Scoring::Trol);
  CHECK(value_at(trol, {"accuracy"}) == Approx(3.0 / 7.0));
  CHECK(trol.counts.unparsable == 1);
}

TEST_CASE("SEED-IMG: image dimensions from SEED-Bench.json, per dimension and overall", "[benchmarks]") {
  const auto official = score("seedbench", "seedbench/SEED-Bench.json", "seedbench/predictions.jsonl");
  // 101 "A" right; 102 "(C) a forest" right; 103 "b" unparsable; 104 "The answer is D" right;
  // 105 " A" right; 106 missing; v1 is a video question: its prediction is unknown.
  CHECK(value_at(official, {"accuracy"}) == Approx(4.0 / 6.0));
  CHECK(value_at(official, {"category", "Scene Understanding", "accuracy"}) == Approx(2.0 / 3.0));
  CHECK(value_at(official, {"category", "Instances Counting", "accuracy"}) == Approx(2.0 / 3.0));
  CHECK(official.counts.items == 6);
  CHECK(official.counts.unparsable == 1);
  CHECK(official.counts.missing == 1);
  CHECK(official.counts.unknown == 1);
  // TroL: the first character: A right; '(', 'b', 'T', ' ' wrong: 1 of 6.
  const auto trol = score("seedbench", "seedbench/SEED-Bench.json", "seedbench/predictions.jsonl", Scoring::Trol);
  CHECK(value_at(trol, {"accuracy"}) == Approx(1.0 / 6.0));
  CHECK(value_at(trol, {"category", "Instances Counting", "accuracy"}) == 0.0);
}

TEST_CASE("MMStar: per category and l2-category, TroL runs MMStar's own script", "[benchmarks]") {
  const auto official = score("mmstar", "mmstar/MMStar.tsv", "mmstar/predictions.jsonl");
  // 0 "a" unparsable; 1 "Option B" right; 2 "The answer is C." right; 3 "90 degrees" (option
  // text) right; 4 "I think the answer is a" right (verbose regex); 5 a refusal: Z, wrong;
  // 6 missing. 4 of 7; coarse perception 1/3, math 3/4.
  CHECK(value_at(official, {"accuracy"}) == Approx(4.0 / 7.0));
  CHECK(value_at(official, {"category", "coarse perception", "accuracy"}) == Approx(1.0 / 3.0));
  CHECK(value_at(official, {"category", "math", "accuracy"}) == Approx(0.75));
  CHECK(value_at(official, {"l2-category", "geometry", "accuracy"}) == Approx(2.0 / 3.0));
  CHECK(value_at(official, {"l2-category", "statistical reasoning", "accuracy"}) == 1.0);
  CHECK(official.counts.unparsable == 1);
  CHECK(official.counts.missing == 1);
  // TroL: a right, "option b" right, "the answer is c." right, '9', 'i', 'c' wrong: 3 of 7.
  const auto trol = score("mmstar", "mmstar/MMStar.tsv", "mmstar/predictions.jsonl", Scoring::Trol);
  CHECK(value_at(trol, {"accuracy"}) == Approx(3.0 / 7.0));
  CHECK(value_at(trol, {"category", "coarse perception", "accuracy"}) == Approx(2.0 / 3.0));
  CHECK(trol.counts.unparsable == 0);
}

TEST_CASE("MMMU: the official multiple-choice and open-answer parsing", "[benchmarks]") {
  const std::vector<Choice> colours{{'A', "red"}, {'B', "green"}, {'C', "blue"}};
  CHECK(mmmu_choice_letter("(B)", colours) == "B");
  CHECK(mmmu_choice_letter("B.", colours) == "B");            // '.' stripped, then " B "
  CHECK(mmmu_choice_letter("(A) or maybe (C)", colours) == "C");  // the last one written
  CHECK(mmmu_choice_letter("b", colours) == "");              // case-sensitive: MMMU would guess
  CHECK(mmmu_choice_letter("It is blue", colours) == "");     // 3 words: the texts are not tried
  CHECK(mmmu_choice_letter("I would say the sky is blue", colours) == "C");
  CHECK(mmmu_open_correct("The area is 12 square units.", {"12"}));
  CHECK(mmmu_open_correct("3.43", {"24/7", "3.429"}));        // round(3.429, 2) == 3.43
  CHECK(mmmu_open_correct("1,000", {"1000"}));
  CHECK_FALSE(mmmu_open_correct("x = 6", {"5"}));
  CHECK(mmmu_open_correct("so the answer is Tampa", {"Tampa"}));
  CHECK(mmmu_open_correct("c", {"C"}));        // one character: " c" and "c " on both sides
  CHECK_FALSE(mmmu_open_correct("abc", {"C"}));  // ... so it does not match inside a word
}

TEST_CASE("MMMU: per split, discipline and subject, TroL wants the bare letter", "[benchmarks]") {
  const auto official = score("mmmu", "mmmu/MMMU_DEV_VAL.tsv", "mmmu/predictions.jsonl");
  // Art_1 "(C)" right; Art_2 by option text, red written last: A right; Math_3 12 right;
  // Math_4 3.43 right; Math_5 6 != 5; dev_Math_6 "I am not sure" unparsable; Physics_7 "D"
  // right; Physics_8 missing. 5 of 8; validation 5/7, dev 0/1.
  CHECK(value_at(official, {"accuracy"}) == Approx(5.0 / 8.0));
  CHECK(value_at(official, {"split", "validation", "accuracy"}) == Approx(5.0 / 7.0));
  CHECK(value_at(official, {"split", "dev", "accuracy"}) == 0.0);
  CHECK(value_at(official, {"subject", "Art", "accuracy"}) == 1.0);
  CHECK(value_at(official, {"subject", "Math", "accuracy"}) == Approx(0.5));
  CHECK(value_at(official, {"discipline", "Science", "accuracy"}) == Approx(0.5));
  CHECK(value_at(official, {"discipline", "Art and Design", "accuracy"}) == 1.0);
  CHECK(official.counts.unparsable == 1);
  CHECK(official.counts.missing == 1);
  CHECK(official.counts.duplicates == 1);
  CHECK(official.counts.unknown == 1);
  // TroL: "(C)", the sentence and "I am not sure" are not a bare letter (unparsable); the open
  // ones as above; "D" right: 3 of 8.
  const auto trol = score("mmmu", "mmmu/MMMU_DEV_VAL.tsv", "mmmu/predictions.jsonl", Scoring::Trol);
  CHECK(value_at(trol, {"accuracy"}) == Approx(3.0 / 8.0));
  CHECK(trol.counts.unparsable == 3);
}

TEST_CASE("HallusionBench: VLMEvalKit's yes/no extraction", "[benchmarks]") {
  CHECK(yes_or_no_extraction("Yes, it is.") == "Yes");
  CHECK(yes_or_no_extraction("NO!") == "No");
  CHECK(yes_or_no_extraction("no.") == "No");
  CHECK(yes_or_no_extraction("Yes and no") == "Unknown");
  CHECK(yes_or_no_extraction("Eyes closed") == "Unknown");    // words, not substrings
  CHECK(yes_or_no_extraction("yes/no") == "Unknown");         // '/' becomes a space: both words
  CHECK(yes_or_no_extraction("(yes)") == "Yes");
}

TEST_CASE("HallusionBench: aAcc, fAcc and qAcc by the official groups", "[benchmarks]") {
  const auto official = score("hallusionbench", "hallusionbench/HallusionBench.json", "hallusionbench/predictions.jsonl");
  // Right: VD 0_0_0, 0_0_1; VS 0_0_0 ("NO"), 0_1_0, 0_2_0 ("Eyes closed, no."). Wrong: VD
  // 0_1_0 ("Yes" on no), 0_1_1 (unparsable), VS 0_1_1 (missing). aAcc 5/8.
  CHECK(value_at(official, {"aAcc"}) == Approx(5.0 / 8.0));
  // Figures (VS figure 0 left out): VD_0_0 right, VD_0_1 not, VS_0_1 not, VS_0_2 right: 2/4.
  CHECK(value_at(official, {"fAcc"}) == Approx(0.5));
  // Pairs: VD_0_q0 {right, wrong}, VD_0_q1 {right, wrong}, VS_0_q0 {all three right},
  // VS_0_q1 {missing}: 1/4. Easy (visual_input != 2): 3/4; hard: VS_0_q0 only, 1/3.
  CHECK(value_at(official, {"qAcc"}) == Approx(0.25));
  CHECK(value_at(official, {"easy_qAcc"}) == Approx(0.75));
  CHECK(value_at(official, {"hard_qAcc"}) == Approx(1.0 / 3.0));
  CHECK(value_at(official, {"category", "VD", "aAcc"}) == Approx(0.5));
  CHECK(value_at(official, {"category", "VS", "aAcc"}) == Approx(0.75));
  CHECK(value_at(official, {"category", "VS", "qAcc"}) == Approx(0.5));
  CHECK(official.counts.unparsable == 1);
  CHECK(official.counts.missing == 1);
  CHECK(official.counts.duplicates == 1);
  CHECK(official.counts.unknown == 1);
  // TroL: "yes" anywhere: "I cannot tell" reads no (wrong), "Eyes closed, no." reads yes
  // (wrong): 4/8, never unparsable.
  const auto trol = score("hallusionbench", "hallusionbench/HallusionBench.json", "hallusionbench/predictions.jsonl",
                          Scoring::Trol);
  CHECK(value_at(trol, {"aAcc"}) == Approx(0.5));
  CHECK(value_at(trol, {"fAcc"}) == Approx(0.25));
  CHECK(value_at(trol, {"qAcc"}) == 0.0);
  CHECK(trol.counts.unparsable == 0);
}

TEST_CASE("HallusionBench: VLMEvalKit's TSV, groups by l2-category and the index's parts", "[benchmarks]") {
  const auto report = score("hallusionbench", "hallusionbench/HallusionBench.tsv", "hallusionbench/predictions_tsv.jsonl");
  // Right, wrong, right. Figures (l2_set_figure) ocr_0_0, ocr_0_1, ocr_1_0: 2/3; pairs
  // (l2_set_question) ocr_0_0 {right, wrong}, ocr_1_0 {right}: 1/2.
  CHECK(value_at(report, {"aAcc"}) == Approx(2.0 / 3.0));
  CHECK(value_at(report, {"fAcc"}) == Approx(2.0 / 3.0));
  CHECK(value_at(report, {"qAcc"}) == Approx(0.5));
  CHECK(value_at(report, {"l2-category", "ocr", "qAcc"}) == Approx(0.5));
  CHECK_FALSE(report.metrics.contains("easy_qAcc"));  // the TSV has no visual_input
}

TEST_CASE("multiple-choice TSVs: bad rows are errors naming file:line", "[benchmarks]") {
  CHECK_THROWS_WITH(score("ai2d", "mmstar/nowhere.tsv", "ai2d/predictions.jsonl"), ContainsSubstring("nowhere.tsv: cannot open"));
  CHECK_THROWS_WITH(score("ai2d", "ai2d/predictions.jsonl", "ai2d/predictions.jsonl"),
                    ContainsSubstring("predictions.jsonl:1: the header lacks the column(s) index, answer, A"));
  CHECK_THROWS_WITH(score("ai2d", "ai2d/bad.tsv", "ai2d/predictions.jsonl"),
                    ContainsSubstring("bad.tsv:3: answer \"E\" is not the letter of one of the options"));
  CHECK_THROWS_WITH(score("ai2d", "ai2d/bad.tsv", "ai2d/predictions.jsonl"), ContainsSubstring("bad.tsv:4: index 0 repeats line 2"));
  CHECK_THROWS_WITH(score("ai2d", "ai2d/bad.tsv", "ai2d/predictions.jsonl"),
                    ContainsSubstring("bad.tsv:5: 3 fields, but the header has 8"));
}

}  // namespace test_benchmark_scoring_mc
