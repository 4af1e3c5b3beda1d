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
#include "eval/benchmark_files.h"

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
  // human: 45%, 1,000, 12 million, yes., "Chad " (against Chad) wrong; "0" against 0 (compared
  // as text) right: 1/6. augmented: " 3.6 " (float() ignores the spaces: 2.9%), 2100 (4.0%),
  // 95 (5.0%) all right. (pix2struct's relaxed_correctness run on these files gives the same.)
  CHECK(metric(official, "human", "relaxed_accuracy") == Approx(1.0 / 6.0));
  CHECK(metric(official, "augmented", "relaxed_accuracy") == Approx(1.0));
  CHECK(metric(official, "relaxed_accuracy") == Approx(7.0 / 12.0));
  REQUIRE_FALSE(official.notes.empty());
  CHECK_THAT(official.notes.back(), ContainsSubstring("2 answer(s) with surrounding whitespace") &&
                                        ContainsSubstring("1 of them would be right stripped"));
  const auto trol = score("chartqa", "chartqa", "chartqa/predictions.jsonl", Scoring::Trol);
  // human: 45%, 12 million, 0 and "Chad " (TroL strips) right: 4/6. augmented: " 3.6 " cut at
  // its first space to "", 2100 right (81/2100 = 3.9%), 95 wrong (5/95 = 5.3%): 1/3.
  CHECK(metric(trol, "human", "relaxed_accuracy") == Approx(4.0 / 6.0));
  CHECK(metric(trol, "augmented", "relaxed_accuracy") == Approx(1.0 / 3.0));
}

TEST_CASE("ChartQA: the official relaxed_correctness reads the answer as written, float() as Python's", "[benchmarks]") {
  // Each expectation is what pix2struct's relaxed_correctness(label, prediction) returns.
  CHECK_FALSE(chartqa_correct("Chad ", "Chad", Scoring::Official));  // no strip before the text comparison
  CHECK(chartqa_correct("Chad", "Chad", Scoring::Official));
  CHECK(chartqa_correct(" 3.6 ", "3.5", Scoring::Official));         // float() strips
  CHECK(chartqa_correct("35\u00a0", "35", Scoring::Official));        // no-break space too
  CHECK(chartqa_correct("\u200335", "35", Scoring::Official));        // em space
  CHECK_FALSE(chartqa_correct("45% ", "0.45", Scoring::Official));   // does not end with '%': text
  CHECK(chartqa_correct("\uff13\uff15", "35", Scoring::Official));    // full-width digits are digits to float()
  CHECK(chartqa_correct("\uff11\uff12%", "0.12", Scoring::Official));
  CHECK_FALSE(chartqa_correct("\uff11\uff12%", "12", Scoring::Official));
  CHECK(chartqa_correct("50%%", "0.5", Scoring::Official));          // rstrip('%') drops them all
  CHECK(chartqa_correct("1e2", "100", Scoring::Official));
  CHECK_FALSE(chartqa_correct("0.0", "0", Scoring::Official));       // a label of 0 compares as text
  CHECK_FALSE(chartqa_correct("nan", "nan", Scoring::Official));     // nan <= 0.05 is false
  CHECK(chartqa_correct("Chad\u3000", "Chad", Scoring::Trol));        // TroL's .strip() knows Unicode spaces
  // Python's str.lower() on both sides: Unicode's lower case, not ASCII's.
  CHECK(chartqa_correct("CURA\u00c7AO", "Cura\u00e7ao", Scoring::Official));
  CHECK(chartqa_correct("\u0391\u0398\u0397\u039d\u0391", "\u03b1\u03b8\u03b7\u03bd\u03b1", Scoring::Official));  // ΑΘΗΝΑ
  CHECK(chartqa_correct("\u039f\u0394\u039f\u03a3", "\u03bf\u03b4\u03bf\u03c2", Scoring::Official));  // ΟΔΟΣ: final ς
  CHECK_FALSE(chartqa_correct("\u039f\u0394\u039f\u03a3", "\u03bf\u03b4\u03bf\u03c3", Scoring::Official));
  CHECK(chartqa_correct("\u01c5", "\u01c6", Scoring::Official));      // title-case Dž
  CHECK(chartqa_correct("\uff21", "\uff41", Scoring::Official));      // full-width A
  CHECK_FALSE(chartqa_correct("\u0130stanbul", "istanbul", Scoring::Official));  // İ lowers to i + U+0307
  CHECK(chartqa_correct("\u0130stanbul", "i\u0307stanbul", Scoring::Official));
  CHECK_FALSE(chartqa_correct("STRASSE", "stra\u00dfe", Scoring::Official));    // lower(), not casefold()
}

TEST_CASE("ChartQA: Python's final-sigma rule in every script, from Unicode's Cased and Case_Ignorable", "[benchmarks]") {
  // Expected values: Python 3.11's str.lower() of the same text.
  // A word joiner (Cf) is case-ignorable: the Α after it makes Σ non-final.
  CHECK(chartqa_correct("\u039f\u0394\u039f\u03a3\u2060\u0391", "\u03bf\u03b4\u03bf\u03c3\u2060\u03b1", Scoring::Official));
  CHECK(chartqa_correct("\u039f\u0394\u039f\u03a3\u2060", "\u03bf\u03b4\u03bf\u03c2\u2060", Scoring::Official));
  // A combining arrow (Mn, beyond the Latin/Greek/Cyrillic blocks) is skipped too.
  CHECK(chartqa_correct("\u0391\u03a3\u20d7\u0392", "\u03b1\u03c3\u20d7\u03b2", Scoring::Official));
  // Cased without a case partner: small capital ᴀ (Ll), squared 🄰 (So, Other_Uppercase), ª (Lo, Other_Lowercase).
  CHECK(chartqa_correct("\u1d00\u03a3", "\u1d00\u03c2", Scoring::Official));
  CHECK(chartqa_correct("\u0391\u03a3\U0001F130", "\u03b1\u03c3\U0001F130", Scoring::Official));
  CHECK(chartqa_correct("\u0391\u00aa\u03a3", "\u03b1\u00aa\u03c2", Scoring::Official));
  // ’ (Word_Break MidNumLet) is case-ignorable; the Roman numeral ⅰ (Nl) is cased.
  CHECK(python_lower("\u0391\u03a3\u2019\u0392") == "\u03b1\u03c3\u2019\u03b2");
  CHECK(python_lower("\u0391\u03a3\u2170") == "\u03b1\u03c3\u2170");
  CHECK(python_lower("\u03a3") == "\u03c3");  // nothing cased before it
  CHECK(python_lower("A\xff") == "a\xff");    // not UTF-8: ASCII letters only
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

TEST_CASE("ScienceQA-IMG: where trol deliberately differs from eval_science_qa.py, the notes say so", "[benchmarks]") {
  // Question 5 unanswered, question 4 answered twice ("The answer is A." right, then "B").
  // LLaVA's eval_science_qa.py on these answers (with prompts) prints IMG-Accuracy 33.33%: 1 of
  // the 3 answered image questions, the last answer of 4 kept. trol: 2 of all 4.
  std::random_device random;
  const auto answers = std::filesystem::temp_directory_path() / ("trol_sqa_" + std::to_string(random()) + ".jsonl");
  std::ofstream(answers) << "{\"question_id\": \"1\", \"text\": \"B\"}\n{\"question_id\": \"2\", \"text\": \"A cat.\"}\n"
                            "{\"question_id\": \"4\", \"text\": \"The answer is A.\"}\n{\"question_id\": \"4\", \"text\": \"B\"}\n";
  ScoreRequest request;
  request.data = fixture("scienceqa");
  request.predictions = answers.string();
  const auto report = score_benchmark("scienceqa", request);
  std::filesystem::remove(answers);
  CHECK(metric(report, "accuracy") == Approx(0.5));
  CHECK(report.counts.missing == 1);
  std::string notes;
  for (const auto& note : report.notes) notes += note + "\n";
  CHECK_THAT(notes, ContainsSubstring("1 image question(s) without an answer are wrong over all 4") &&
                        ContainsSubstring("divides by 3") && ContainsSubstring("score the last of each duplicated id") &&
                        ContainsSubstring("1 unparsable answer(s) are wrong, as in LLaVA's eval_science_qa.py"));
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
  // is "2".' -> 2.0; 6 "(B) blue" -> blue; 7 "" -> the nearest choice to "", "9" (the
  // shortest); 8 "３" -> int() -> "3": right. 5 needs GPT extraction: wrong, unparsable.
  // (MathVista's extract_answer.py with --quick_extract and calculate_score.py, run on these
  // files, give the same: 7 of 8, 5 needing GPT.)
  CHECK(metric(report, "accuracy") == Approx(7.0 / 8.0));
  CHECK(report.metrics["need_gpt_extraction"].get<int64_t>() == 1);
  CHECK(report.counts.unparsable == 1);

  // The same responses as answers JSONL: 1 and 3 right, the other six missing.
  const auto jsonl = score("mathvista", "mathvista/testmini.json", "mathvista/answers.jsonl");
  CHECK(metric(jsonl, "accuracy") == Approx(2.0 / 8.0));
  CHECK(jsonl.counts.missing == 6);
  CHECK_THAT(jsonl.notes.at(0), ContainsSubstring("calculate_score.py divides by the problems in its output file only: 2/2"));
}

TEST_CASE("MathVista: int() and float() read text as Python does, Unicode digits and spaces included", "[benchmarks]") {
  // Each expectation is what Python 3.11's int() / float() / str.strip() give.
  std::string decimal;
  const auto int_of = [&](const std::string& text) { return python_int(text, decimal) ? decimal : std::string("error"); };
  CHECK(int_of("\uff13") == "3");            // full-width
  CHECK(int_of("\u0663") == "3");            // Arabic-Indic
  CHECK(int_of(" 7\u3000") == "7");          // ideographic space
  CHECK(int_of("1_000") == "1000");
  CHECK(int_of("-0") == "0");
  CHECK(int_of("+5") == "5");
  CHECK(int_of("007") == "7");
  CHECK(int_of("0_0") == "0");
  CHECK(int_of("1__0") == "error");
  CHECK(int_of("_1") == "error");
  CHECK(int_of("1_") == "error");
  CHECK(int_of("- 5") == "error");
  CHECK(int_of("\u00b2") == "error");        // superscript two is a digit, not a decimal
  CHECK(int_of("") == "error");
  double value = 0;
  CHECK(python_float("\uff13.\uff15", value));
  CHECK(value == 3.5);
  CHECK(python_float("\u20031.5\u2029", value));
  CHECK(value == 1.5);
  CHECK(python_float("1_0.2_5", value));
  CHECK(value == 10.25);
  CHECK_FALSE(python_float("1._5", value));
  CHECK_FALSE(python_float("\u00b2", value));
  CHECK(python_strip("\u3000 B\u2003\n") == "B");
  CHECK(python_strip("\u200bB") == "\u200bB");  // zero-width space is not whitespace

  // extract_answer.py's rules (--quick_extract, GPT never asked).
  MathVistaProblem integer{"free_form", "integer", "3", {}, false, 0};
  MathVistaProblem real{"free_form", "float", "1.5", {}, true, 2};
  std::string extraction;
  CHECK(mathvista_rule_extract("\uff13", integer, extraction));
  CHECK(extraction == "3");
  CHECK(mathvista_rule_extract(" 7\u3000", integer, extraction));
  CHECK(extraction == "7");
  CHECK_FALSE(mathvista_rule_extract("1__0", integer, extraction));  // would need GPT
  CHECK(mathvista_rule_extract("-Infinity", real, extraction));
  CHECK(extraction == "-inf");
  CHECK(mathvista_rule_extract("1_0.2_5", real, extraction));
  CHECK(extraction == "10.25");

  // calculate_score.py's normalize_extracted_answer.
  std::string prediction;
  CHECK(mathvista_normalize("\uff13.\uff17", integer, prediction));
  CHECK(prediction == "3");
  CHECK(mathvista_normalize("1e3", integer, prediction));
  CHECK(prediction == "1000");
  CHECK(mathvista_normalize("-0.5", integer, prediction));
  CHECK(prediction == "0");
  CHECK_FALSE(mathvista_normalize("inf", integer, prediction));  // int(inf) raises: None
  CHECK(mathvista_normalize("\uff12.\uff16\uff17\uff15", real, prediction));
  CHECK(prediction == "2.67");
  MathVistaProblem colours{"multi_choice", "text", "red", {"red", "blue"}, false, 0};
  CHECK(mathvista_normalize("", colours, prediction));
  CHECK(prediction == "red");  // nearest to "": the shortest choice
  MathVistaProblem numbers{"multi_choice", "text", "22", {"1", "22"}, false, 0};
  CHECK(mathvista_normalize("B\u2003", numbers, prediction));
  CHECK(prediction == "22");   // .strip() drops the em space: the letter B
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
