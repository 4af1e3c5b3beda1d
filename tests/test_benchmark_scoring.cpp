// trol score's benchmark scorers on small fixtures in each benchmark's own format
// (tests/fixtures/benchmarks/<name>/). Every expectation is worked out by hand in the comment
// next to it, from the official scorer's rules (and the TroL authors' variant).
#include "tests/catch.h"

#include <filesystem>
#include <fstream>
#include <random>

#include "benchmark_fixtures.h"
#include "eval/benchmarks/chartqa.h"
#include "eval/benchmarks/mathvista.h"
#include "eval/benchmarks/mme.h"
#include "eval/benchmarks/pope.h"
#include "eval/benchmarks/registry.h"
#include "eval/benchmarks/scienceqa.h"
#include "eval/benchmarks/textvqa.h"
#include "eval/builtin_benchmarks.h"

namespace test_benchmark_scoring {

using namespace trol;
using namespace trol::bench;

namespace {

double metric(const ScoreReport& report, const std::string& a, const std::string& b = "") {
  return b.empty() ? report.metrics.at(a).get<double>() : report.metrics.at(a).at(b).get<double>();
}

}  // namespace

TEST_CASE("POPE: the official yes/no rule is case-sensitive, TroL's lowercases", "[benchmarks]") {
  CHECK(pope_reads_yes("Yes, there is a dog in the image.", Scoring::Official));
  CHECK_FALSE(pope_reads_yes("No, there is not.", Scoring::Official));
  CHECK(pope_reads_yes("NO.", Scoring::Official));         // "NO" is not one of No / no / not
  CHECK_FALSE(pope_reads_yes("NO.", Scoring::Trol));
  CHECK(pope_reads_yes("Not at all", Scoring::Official));  // "Not" is not "not"
  CHECK_FALSE(pope_reads_yes("Not at all", Scoring::Trol));
  CHECK(pope_reads_yes("A dog. There is no cat", Scoring::Official));  // only the first sentence counts
}

TEST_CASE("POPE: per-split metrics, missing, duplicate and unknown predictions", "[benchmarks]") {
  const auto official = score("pope", "pope", "pope/predictions.jsonl");
  // random: q1 yes->yes TP; q2 "NO." reads yes on a no: FP; q3 "There is no dog" on a yes: FN;
  // q4 missing. accuracy 1/4 over all questions; precision 1/2, recall 1/2, F1 1/2, yes 2/3.
  CHECK(metric(official, "random", "accuracy") == Approx(0.25));
  CHECK(metric(official, "random", "precision") == Approx(0.5));
  CHECK(metric(official, "random", "recall") == Approx(0.5));
  CHECK(metric(official, "random", "f1") == Approx(0.5));
  CHECK(metric(official, "random", "yes_ratio") == Approx(2.0 / 3.0));
  // adversarial: "Not at all" on a yes reads yes (TP), "no" on a no (TN): all 1, yes 1/2.
  CHECK(metric(official, "adversarial", "accuracy") == Approx(1.0));
  CHECK(metric(official, "adversarial", "f1") == Approx(1.0));
  CHECK(metric(official, "adversarial", "yes_ratio") == Approx(0.5));
  CHECK(metric(official, "average", "accuracy") == Approx(0.625));
  CHECK(official.counts.items == 6);
  CHECK(official.counts.predictions == 7);
  CHECK(official.counts.missing == 1);
  CHECK(official.counts.duplicates == 1);  // the second random/1 ("No") is not scored
  CHECK(official.counts.unknown == 1);     // random/99
  CHECK_FALSE(official.metrics.contains("popular"));

  // TroL lowercases: "NO." is a TN, "Not at all" a FN.
  const auto trol = score("pope", "pope", "pope/predictions.jsonl", Scoring::Trol);
  CHECK(metric(trol, "random", "accuracy") == Approx(0.5));      // TP, TN, FN, missing
  CHECK(metric(trol, "random", "precision") == Approx(1.0));
  CHECK(metric(trol, "random", "f1") == Approx(2.0 / 3.0));
  CHECK(metric(trol, "adversarial", "accuracy") == Approx(0.5));  // FN, TN
  CHECK(metric(trol, "adversarial", "precision") == Approx(0.0));
}

TEST_CASE("POPE: ambiguous ids, corrupt lines and missing files are errors naming file:line", "[benchmarks]") {
  CHECK_THROWS_WITH(score("pope", "pope", "pope/ambiguous.jsonl"),
                    ContainsSubstring("ambiguous.jsonl:1: question_id 1 is in several splits"));
  CHECK_THROWS_WITH(score("pope", "pope", "pope/corrupt.jsonl"), ContainsSubstring("corrupt.jsonl:2: not valid JSON"));
  CHECK_THROWS_WITH(score("pope", "pope", "pope/nowhere.jsonl"), ContainsSubstring("nowhere.jsonl: cannot open"));
  CHECK_THROWS_WITH(score("pope", "nowhere", "pope/predictions.jsonl"), ContainsSubstring("no such file or folder"));
}

TEST_CASE("MME: the official answer parsing", "[benchmarks]") {
  CHECK(mme_parse_answer("Yes") == "yes");
  CHECK(mme_parse_answer("NO") == "no");
  CHECK(mme_parse_answer("Yes, there is a dog.") == "yes");  // "yes" in "yes,"
  CHECK(mme_parse_answer("Not really") == "no");             // "no" in "not "
  CHECK(mme_parse_answer("none") == "no");
  CHECK(mme_parse_answer("There is a car.") == "other");     // only the first 4 characters count
  CHECK(mme_parse_answer("I think yes") == "other");
  CHECK(mme_parse_answer("") == "other");
}

TEST_CASE("MME: acc and acc+ per subtask, summed per group, from eval_tool files or LLaVA answers", "[benchmarks]") {
  const auto report = score("mme", "mme/data", "mme/results");
  // existence: right, right, other, right -> acc 75; image 0001 both right, 0002 not -> acc+ 50.
  CHECK(report.metrics["subtasks"]["existence"]["score"].get<double>() == Approx(125.0));
  // artwork: "YES" and "none" (-> no) both right: 100 + 100.
  CHECK(report.metrics["subtasks"]["artwork"]["score"].get<double>() == Approx(200.0));
  // code_reasoning: "no" on a yes, the other question missing: 0.
  CHECK(report.metrics["subtasks"]["code_reasoning"]["score"].get<double>() == Approx(0.0));
  CHECK(metric(report, "perception") == Approx(325.0));
  CHECK(metric(report, "cognition") == Approx(0.0));
  CHECK(report.counts.items == 8);
  CHECK(report.counts.missing == 1);
  CHECK(report.counts.unparsable == 1);

  // LLaVA's answers name the image only; the prompt (with LLaVA's instruction) picks the question.
  const auto llava = score("mme", "mme/data", "mme/llava_answers.jsonl");
  CHECK(llava.metrics["subtasks"]["existence"]["acc"].get<double>() == Approx(50.0));
  CHECK(llava.metrics["subtasks"]["existence"]["acc_plus"].get<double>() == Approx(50.0));
  CHECK(llava.counts.missing == 6);
  CHECK(llava.counts.unknown == 0);
}

TEST_CASE("MMBench: circular evaluation, a question right in 3 of 4 rotations scores 0", "[benchmarks]") {
  // The sky question: "A" (A) right, "The answer is (D)." right, "blue" (option C's text)
  // right, "A" on the rotation whose answer is B wrong.
  const auto one = score("mmbench", "mmbench/one_question.tsv", "mmbench/predictions.jsonl");
  CHECK(metric(one, "circular_accuracy") == 0.0);
  CHECK(metric(one, "vanilla_accuracy") == 1.0);  // its original row alone is right
  CHECK(one.counts.unknown == 2);                  // the cat question's predictions

  // With the cat question right in both rotations: 1 of 2 questions.
  const auto both = score("mmbench", "mmbench/mmbench_dev.tsv", "mmbench/predictions.jsonl");
  CHECK(metric(both, "circular_accuracy") == Approx(0.5));
  CHECK(metric(both, "vanilla_accuracy") == Approx(1.0));
  CHECK(both.counts.items == 6);
  CHECK(both.counts.missing == 0);

  // TroL: the first character per row: A, T, b, A, B, A -> right on rows 0, 1, 1000001: 3 of 6.
  const auto trol = score("mmbench", "mmbench/mmbench_dev.tsv", "mmbench/predictions.jsonl", Scoring::Trol);
  CHECK(metric(trol, "accuracy") == Approx(0.5));
}

TEST_CASE("ChartQA: relaxed accuracy, official and TroL's", "[benchmarks]") {
  CHECK(chartqa_correct("104", "100", Scoring::Official));        // 4% off
  CHECK_FALSE(chartqa_correct("106", "100", Scoring::Official));  // 6% off
  CHECK(chartqa_correct("95", "100", Scoring::Official));         // exactly 5% of the label
  CHECK_FALSE(chartqa_correct("95", "100", Scoring::Trol));       // 5/95 of the prediction
  CHECK_FALSE(chartqa_correct("45%", "45", Scoring::Official));   // 0.45 against 45
  CHECK(chartqa_correct("45%", "0.45", Scoring::Official));
  CHECK(chartqa_correct("45%", "45", Scoring::Trol));
  CHECK_FALSE(chartqa_correct("1,000", "1000", Scoring::Official));  // not a number for float()
  CHECK_FALSE(chartqa_correct("12 million", "12", Scoring::Official));
  CHECK(chartqa_correct("12 million", "12", Scoring::Trol));         // cut to "12"
  CHECK(chartqa_correct("YES", "Yes", Scoring::Official));
  CHECK_FALSE(chartqa_correct("yes.", "Yes", Scoring::Official));

  const auto official = score("chartqa", "chartqa", "chartqa/predictions.jsonl");
  // human: 45%, 1,000, 12 million, yes. wrong; "0" against 0 (compared as text) right: 1/5.
  // augmented: 3.6 (2.9%), 2100 (4.0%), 95 (5.0%) all right.
  CHECK(metric(official, "human", "relaxed_accuracy") == Approx(0.2));
  CHECK(metric(official, "augmented", "relaxed_accuracy") == Approx(1.0));
  CHECK(metric(official, "relaxed_accuracy") == Approx(0.6));
  const auto trol = score("chartqa", "chartqa", "chartqa/predictions.jsonl", Scoring::Trol);
  // human: 45%, 12 million, 0 right: 3/5. augmented: " 3.6 " cut at its first space to "",
  // 2100 right (81/2100 = 3.9%), 95 wrong (5/95 = 5.3%): 1/3.
  CHECK(metric(trol, "human", "relaxed_accuracy") == Approx(0.6));
  CHECK(metric(trol, "augmented", "relaxed_accuracy") == Approx(1.0 / 3.0));
}

TEST_CASE("TextVQA: EvalAI normalisation and the leave-one-out VQA accuracy", "[benchmarks]") {
  CHECK(textvqa_normalize("Coca Cola.") == "coca cola");
  CHECK(textvqa_normalize("1,000") == "1000");            // commas go before anything else
  CHECK(textvqa_normalize("The Dog!") == "dog");
  CHECK(textvqa_normalize("Two dogs") == "2 dogs");
  CHECK(textvqa_normalize("It's red") == "it 's red");    // "'s" split off, on both sides alike
  CHECK(textvqa_normalize("dont") == "don't");
  CHECK(textvqa_normalize("3.5 m.") == "3.5 m");
  CHECK(textvqa_normalize("left-hand") == "left hand");   // '-' touches no space: a space
  CHECK(textvqa_normalize("yes - no") == "yes no");       // '-' touches a space: removed
  // 3 of 10 humans: leaving out one of the 3 leaves 2 (2/3), any other leaves 3 (1): 0.9.
  const std::vector<std::string> three{"a", "a", "a", "b", "b", "b", "b", "b", "b", "b"};
  CHECK(textvqa_accuracy("A", three) == Approx(0.9));
  CHECK(textvqa_accuracy("c", three) == 0.0);

  const auto report = score("textvqa", "textvqa/TextVQA_0.5.1_val.json", "textvqa/predictions.jsonl");
  // q1 "Coca Cola" matches 3 answers: 0.9; q2 "1000" matches "1,000" and "1000": (2 * 1/3 +
  // 8 * 2/3) / 10 = 0.6; q3 missing: 0. Mean 0.5.
  CHECK(metric(report, "accuracy") == Approx(0.5));
  CHECK(report.counts.missing == 1);
}

TEST_CASE("ScienceQA-IMG: the official letter rules and TroL's", "[benchmarks]") {
  CHECK(scienceqa_letter("B", Scoring::Official) == "B");
  CHECK(scienceqa_letter("B. dog", Scoring::Official) == "B");
  CHECK(scienceqa_letter("A cat.", Scoring::Official) == "");  // needs ". " right after the letter
  CHECK(scienceqa_letter("A cat.", Scoring::Trol) == "A");
  CHECK(scienceqa_letter("The answer is (B).", Scoring::Official) == "");  // "(" is not [A-Z]
  CHECK(scienceqa_letter("The answer is B.", Scoring::Official) == "B");
  CHECK(scienceqa_letter("The answer is B", Scoring::Official) == "");     // the pattern wants one more character
  CHECK(scienceqa_letter("The answer is A. The answer is B.", Scoring::Official) == "");

  const auto official = score("scienceqa", "scienceqa", "scienceqa/predictions.jsonl");
  // IMG test questions 1, 2, 4, 5 (3 has no image: its prediction is unknown). "B" right,
  // "A cat." unparsable, "The answer is A." right, "C" beyond 2 choices unparsable: 2/4.
  CHECK(metric(official, "accuracy") == Approx(0.5));
  CHECK(official.counts.unparsable == 2);
  CHECK(official.counts.unknown == 1);
  const auto trol = score("scienceqa", "scienceqa", "scienceqa/predictions.jsonl", Scoring::Trol);
  CHECK(metric(trol, "accuracy") == Approx(0.75));  // "A cat." reads A
  CHECK(trol.counts.unparsable == 1);
}

TEST_CASE("MathVista: Python's float text, rounding and truncation as the official scorer", "[benchmarks]") {
  CHECK(python_float_repr(1e-5) == "1e-05");
  CHECK(python_float_repr(1e16) == "1e+16");
  CHECK(python_float_repr(1e15) == "1000000000000000.0");
  CHECK(python_float_repr(0.1) == "0.1");
  CHECK(python_float_repr(2.0) == "2.0");
  CHECK(python_float_repr(-0.5) == "-0.5");
  CHECK(python_float_repr(1.5e-7) == "1.5e-07");
  CHECK(python_float_repr(12345.678) == "12345.678");
  CHECK(python_round(0.125, 2) == 0.12);  // ties to even on the exact binary value
  CHECK(python_round(2.675, 2) == 2.67);  // 2.675 is 2.67499999...
  double value = 0;
  CHECK(python_float(" 1_000.5 ", value));
  CHECK(value == 1000.5);
  CHECK_FALSE(python_float("1,000", value));
  CHECK_FALSE(python_float("12 apples", value));

  MathVistaProblem integer{"free_form", "integer", "3", {}, false, 0};
  std::string prediction;
  CHECK(mathvista_normalize("3.7", integer, prediction));
  CHECK(prediction == "3");  // int(float("3.7")) truncates
  MathVistaProblem choice{"multi_choice", "text", "blue", {"red", "blue"}, false, 0};
  CHECK(mathvista_normalize("(B) blue", choice, prediction));
  CHECK(prediction == "blue");
  CHECK(mathvista_normalize("bleu", choice, prediction));
  CHECK(prediction == "blue");  // the nearest choice by edit distance

  const auto report = score("mathvista", "mathvista/testmini.json", "mathvista/output.json");
  // 1 "5" is a choice; 2 extraction "3.7" -> "3"; 3 "1.246" -> round 2 -> "1.25"; 4 'The answer
  // is "2".' -> 2.0; 6 "(B) blue" -> blue: right. 5 needs GPT extraction: wrong, unparsable.
  CHECK(metric(report, "accuracy") == Approx(5.0 / 6.0));
  CHECK(report.metrics["need_gpt_extraction"].get<int64_t>() == 1);
  CHECK(report.counts.unparsable == 1);

  // The same responses as answers JSONL: 1 and 3 right, the other four missing.
  const auto jsonl = score("mathvista", "mathvista/testmini.json", "mathvista/answers.jsonl");
  CHECK(metric(jsonl, "accuracy") == Approx(2.0 / 6.0));
  CHECK(jsonl.counts.missing == 4);
}

TEST_CASE("GPT-judged benchmarks are never scored, only converted", "[benchmarks]") {
  CHECK_THROWS_WITH(score("mm-vet", "", "mm-vet/answers.jsonl"), ContainsSubstring("does not make up"));
  std::random_device random;
  const auto out = std::filesystem::temp_directory_path() / ("trol_mmvet_" + std::to_string(random()) + ".json");
  ScoreRequest request;
  request.predictions = fixture("mm-vet/answers.jsonl");
  request.export_path = out.string();
  const auto report = score_benchmark("mm-vet", request);
  CHECK(report.metrics.empty());
  const auto written = nlohmann::json::parse(std::ifstream(out));
  CHECK(written == nlohmann::json{{"v1_0", "Two."}, {"v1_1", "A dog."}});
  std::filesystem::remove(out);
  CHECK_THROWS_WITH(score("nonsense", "pope", "pope/predictions.jsonl"), ContainsSubstring("unknown benchmark 'nonsense'"));
}

}  // namespace test_benchmark_scoring
