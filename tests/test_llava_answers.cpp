// trol score --questions: LLaVA's answer files scored by LLaVA's own scripts' rules, on
// miniature files in LLaVA's exact formats (tests/fixtures/llava/<benchmark>/: LLaVA's question
// file, the answers model_vqa_loader.py / model_vqa_science.py write, the benchmark's labels).
//
// Every expected `printed` block is the stdout of LLaVA's actual script on these fixtures
// (haotian-liu/LLaVA at c121f0432da27facab705978f83c4ada465e46fd, run with Python 3.11;
// tqdm and, for MME, scikit-learn 1.9.1 installed), from the LLaVA checkout's root:
//   python llava/eval/eval_pope.py --annotation-dir pope/coco --question-file pope/llava_pope_test.jsonl
//       --result-file pope/answers.jsonl
//   python -m llava.eval.eval_textvqa --annotation-file textvqa/TextVQA_0.5.1_val.json
//       --result-file textvqa/answers.jsonl      (llava/__init__.py emptied, so the model code is not imported)
//   python llava/eval/eval_science_qa.py --base-dir scienceqa --result-file scienceqa/answers.jsonl
//       --output-file out.json --output-result result.json
//   python scripts/convert_seed_for_submission.py --annotation-file seedbench/SEED-Bench.json
//       --result-file seedbench/answers.jsonl --result-upload-file upload.jsonl
//   MME (not in LLaVA's repository: its eval.zip ships convert_answer_to_mme.py, and MME's
//   eval_tool ships calculation.py), in a folder holding MME_Benchmark_release_version/,
//   answers/fixture.jsonl = mme/answers.jsonl and eval_tool/:
//     python convert_answer_to_mme.py --experiment fixture
//     cd eval_tool && python calculation.py --results_dir answers/fixture
// (fixture paths relative to tests/fixtures/llava/). eval_pope.py walks os.listdir's order;
// here the categories come random, popular, adversarial, so its blocks are reordered to match.
#include "tests/catch.h"

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "eval/benchmarks/llava_answers.h"
#include "eval/benchmarks/registry.h"
#include "eval/benchmark_files.h"

namespace test_llava_answers {

using namespace trol::bench;

namespace {

std::string llava_fixture(const std::string& relative) {
  return std::string(TROL_SOURCE_DIR) + "/tests/fixtures/llava/" + relative;
}

LlavaScore score_llava(const std::string& benchmark, const std::string& data, const std::string& answers,
                       const std::string& questions) {
  ScoreRequest request;
  request.data = llava_fixture(data);
  request.predictions = llava_fixture(answers);
  return score_llava_answers(benchmark, request, llava_fixture(questions));
}

ScoreReport score_own(const std::string& benchmark, const std::string& data, const std::string& answers) {
  ScoreRequest request;
  request.data = llava_fixture(data);
  request.predictions = llava_fixture(answers);
  return score_benchmark(benchmark, request);
}

std::string error_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("LLaVA POPE: eval_pope.py pairs each category's answers with its label file by position", "[benchmarks][llava]") {
  const auto result = score_llava("pope", "pope/coco", "pope/answers.jsonl", "pope/llava_pope_test.jsonl");
  // adversarial: answers 2, 1, 3, 4 in that order meet labels 1, 2, 3, 4: "No" (q2) against
  // q1's yes is FN, "Yes" (q1) against q2's no is FP. Paired by id it would be all right.
  // random: the fourth answer (a repeat of 10000003) has no label left: it counts in the yes
  // ratio (3/4) only. popular: 20000002 is unanswered, so 20000003's "No" meets q2's label.
  const std::vector<std::string> expected{
      "Category: random, # samples: 4",
      "TP\tFP\tTN\tFN\t",
      "1\t1\t0\t1",
      "Accuracy: 0.3333333333333333",
      "Precision: 0.5",
      "Recall: 0.5",
      "F1 score: 0.5",
      "Yes ratio: 0.75",
      "0.500, 0.333, 0.500, 0.500, 0.750",
      "====================================",
      "Category: popular, # samples: 2",
      "TP\tFP\tTN\tFN\t",
      "1\t0\t1\t0",
      "Accuracy: 1.0",
      "Precision: 1.0",
      "Recall: 1.0",
      "F1 score: 1.0",
      "Yes ratio: 0.5",
      "1.000, 1.000, 1.000, 1.000, 0.500",
      "====================================",
      "Category: adversarial, # samples: 4",
      "TP\tFP\tTN\tFN\t",
      "1\t1\t1\t1",
      "Accuracy: 0.5",
      "Precision: 0.5",
      "Recall: 0.5",
      "F1 score: 0.5",
      "Yes ratio: 0.5",
      "0.500, 0.500, 0.500, 0.500, 0.500",
      "===================================="};
  CHECK(result.printed == expected);
  CHECK(result.report.metrics.at("adversarial").at("accuracy").get<double>() == 0.5);
  CHECK(result.report.counts.items == 10);
  CHECK(result.report.counts.predictions == 10);
  CHECK(result.report.counts.missing == 1);
  // The positional pairs of different questions are named: 2 in adversarial, 1 in popular.
  std::string notes;
  for (const auto& note : result.report.notes) notes += note + "\n";
  CHECK(notes.find("category adversarial: 2 answers are paired") != std::string::npos);
  CHECK(notes.find("category popular: 1 answers are paired") != std::string::npos);
  CHECK(notes.find("category random: 4 answers for 3 labels") != std::string::npos);
}

TEST_CASE("LLaVA POPE: answers to other questions and unknown categories are errors naming file and line",
          "[benchmarks][llava]") {
  const auto unknown_id = error_of([] {
    score_llava("pope", "pope/coco", "pope/answers_unknown_id.jsonl", "pope/llava_pope_test.jsonl");
  });
  CHECK(unknown_id.find("answers_unknown_id.jsonl:2: question_id 30000001 is not in the questions file") != std::string::npos);
  const auto unknown_category = error_of([] {
    score_llava("pope", "pope/coco", "pope/answers_unknown_category.jsonl", "pope/questions_unknown_category.jsonl");
  });
  CHECK(unknown_category.find("questions_unknown_category.jsonl:3: unknown category 'popluar'") != std::string::npos);
  CHECK(unknown_category.find("has no coco_pope_popluar.json") != std::string::npos);
  // The label folder may hold only coco_pope_<category>.json, as eval_pope.py asserts.
  CHECK(error_of([] { score_llava("pope", "pope", "pope/answers.jsonl", "pope/llava_pope_test.jsonl"); })
            .find("may hold only coco_pope_<category>.json") != std::string::npos);
}

TEST_CASE("LLaVA TextVQA: answers join the annotations by image id and the prompt's question", "[benchmarks][llava]") {
  const auto result =
      score_llava("textvqa", "textvqa/TextVQA_0.5.1_val.json", "textvqa/answers.jsonl", "textvqa/llava_textvqa_val_v051_ocr.jsonl");
  // "Dakota" 1.0; "COPENHAGEN" matches copenhagen twice and "copenhagen." once: 0.9; "Stone"
  // once: 0.3; "ale" three times: 0.9. Averaged over the 4 answers (the two answers to the beer
  // question both count, the jersey question is unanswered and not counted): 3.1 / 4.
  const std::vector<std::string> expected{"answers", "Samples: 4", "Accuracy: 77.50%", ""};
  CHECK(result.printed == expected);
  CHECK(result.report.metrics.at("accuracy").get<double>() == Approx(0.775));
  CHECK(result.report.counts.duplicates == 1);
  CHECK(result.report.counts.missing == 1);
  // trol's own TextVQA scorer keys by TextVQA's question_id: LLaVA's ids (image ids) are unknown.
  const auto own = score_own("textvqa", "textvqa/TextVQA_0.5.1_val.json", "textvqa/answers.jsonl");
  CHECK(own.counts.unknown == 4);
  const auto missing = error_of([] {
    score_llava("textvqa", "textvqa/TextVQA_0.5.1_val.json", "textvqa/answers_no_annotation.jsonl",
                "textvqa/llava_textvqa_val_v051_ocr.jsonl");
  });
  CHECK(missing.find("answers_no_annotation.jsonl:1: no annotation in") != std::string::npos);
  CHECK(missing.find("image_id 003a8ae2ef43b901 and question \"what is the model of this camera?\"") != std::string::npos);
}

TEST_CASE("LLaVA TextVQA: the question inside each prompt layout eval_textvqa.py reads", "[benchmarks][llava]") {
  CHECK(llava_textvqa_question("What is it?\nReference OCR token: a, b\nAnswer the question using a single word or phrase.") ==
        "what is it?");
  CHECK(llava_textvqa_question("Reference OCR token: a, b\nWhat is it?\nAnswer briefly.") == "what is it?");
  CHECK(llava_textvqa_question("What Is It?\nAnswer the question using a single word or phrase.") == "what is it?");
  CHECK(llava_textvqa_question("OCR tokens: a, b. Question: What\nis it? Short answer: x Short answer:") == "what\nis it?");
  CHECK(llava_textvqa_question("OCR tokens: a, b. What is it?") == "");  // the script's regex finds nothing
  CHECK(llava_textvqa_question("one line") == "");
  CHECK(llava_textvqa_question("a\nb\nc\nd") == "");
}

TEST_CASE("LLaVA ScienceQA: eval_science_qa.py's Accuracy and IMG-Accuracy", "[benchmarks][llava]") {
  const auto result = score_llava("scienceqa", "scienceqa", "scienceqa/answers.jsonl", "scienceqa/llava_test_CQM-A.json");
  // Test pids 4 5 10 11 12. 4: its last answer "A" wins (right); 5 "B. rock" right; 10 (no
  // image) "The answer is B." right; 11 unanswered; 12 "C" is beyond its 2 choices. Accuracy
  // 3/5; IMG: the answers whose prompt holds "<image>" (4, 5, 12): 2/3. Unanswered 11 leaves
  // the IMG denominator, where trol's own ScienceQA-IMG counts it wrong.
  CHECK(result.printed == std::vector<std::string>{"Total: 5, Correct: 3, Accuracy: 60.00%, IMG-Accuracy: 66.67%"});
  CHECK(result.report.metrics.at("img_accuracy").get<double>() == Approx(2.0 / 3.0));
  CHECK(result.report.counts.missing == 1);
  CHECK(result.report.counts.duplicates == 1);
  CHECK(result.report.counts.unparsable == 1);
  // trol's own rule on the same files: image problems 4 5 11 12, the first answer of 4 ("B",
  // wrong) scored, 11 wrong: 1/4.
  CHECK(score_own("scienceqa", "scienceqa", "scienceqa/answers.jsonl").metrics.at("accuracy").get<double>() == Approx(0.25));
}

TEST_CASE("LLaVA SEED-Bench: convert_seed_for_submission.py's exact-letter accuracy per type, image and video",
          "[benchmarks][llava]") {
  const auto result = score_llava("seedbench", "seedbench/SEED-Bench.json", "seedbench/answers.jsonl",
                                  "seedbench/llava-seed-bench.jsonl");
  // "C." is not "C" (no letter extraction); 101672's last answer "D" wins; both video answers right.
  const std::vector<std::string> expected{"Scene Understanding: 50.00%", "Instance Identity: 100.00%",
                                          "Action Recognition: 100.00%", "Total accuracy: 83.33%",
                                          "image accuracy: 75.00%",      "video accuracy: 100.00%"};
  CHECK(result.printed == expected);
  CHECK(result.report.metrics.at("image").get<double>() == Approx(0.75));
  CHECK(result.report.metrics.at("per_type").at("Scene Understanding").get<double>() == Approx(0.5));
  // trol's own SEED-IMG reads "C." as C (VLMEvalKit's can_infer): Scene Understanding 2/2.
  const auto own = score_own("seedbench", "seedbench/SEED-Bench.json", "seedbench/answers.jsonl");
  CHECK(own.metrics.at("category").at("Scene Understanding").at("accuracy").get<double>() == Approx(1.0));
}

TEST_CASE("LLaVA MME: convert_answer_to_mme.py then calculation.py pairs consecutive answers", "[benchmarks][llava]") {
  const auto result = score_llava("mme", "mme/MME_Benchmark_release_version", "mme/answers.jsonl", "mme/llava_mme.jsonl");
  // existence: the answers alternate between images 0001 and 0002 (right, wrong, right, wrong),
  // so no consecutive pair is all right: acc 0.5, acc+ 0 -> 50.0 (grouped by image, 0001 is all
  // right: acc+ 0.5 -> 100). count: 4 of 6 right, 1 of 3 pairs: 66.66...67 + 33.33...33 = 99.99999999999999.
  // celebrity's questions end "  Please answer yes or no." (two spaces), found on the second try.
  const std::vector<std::string> expected{"=========== Perception ===========",
                                          "total score: 1300.0 ",
                                          "",
                                          "\t existence  score: 50.0",
                                          "\t count  score: 99.99999999999999",
                                          "\t position  score: 50.0",
                                          "\t color  score: 50.0",
                                          "\t posters  score: 200.0",
                                          "\t celebrity  score: 200.0",
                                          "\t scene  score: 200.0",
                                          "\t landmark  score: 200.0",
                                          "\t artwork  score: 200.0",
                                          "\t OCR  score: 50.0",
                                          "",
                                          "",
                                          "=========== Cognition ===========",
                                          "total score: 650.0 ",
                                          "",
                                          "\t commonsense_reasoning  score: 200.0",
                                          "\t numerical_calculation  score: 50.0",
                                          "\t text_translation  score: 200.0",
                                          "\t code_reasoning  score: 200.0",
                                          "",
                                          ""};
  CHECK(result.printed == expected);
  CHECK(result.report.metrics.at("Perception").at("total").get<double>() == 1300.0);
  // trol's own MME rule groups by image: existence scores 50 + 50.
  const auto own = score_own("mme", "mme/MME_Benchmark_release_version", "mme/answers.jsonl");
  CHECK(own.metrics.at("subtasks").at("existence").at("score").get<double>() == Approx(100.0));
  const auto odd = error_of([] {
    score_llava("mme", "mme/MME_Benchmark_release_version", "mme/answers_odd.jsonl", "mme/llava_mme.jsonl");
  });
  CHECK(odd.find("code_reasoning has 1 answers") != std::string::npos);
}

TEST_CASE("LLaVA MMBench: no local score, and a benchmark without a LLaVA script is refused", "[benchmarks][llava]") {
  ScoreRequest request;
  request.data = llava_fixture("pope/coco");
  request.predictions = llava_fixture("pope/answers.jsonl");
  CHECK_THROWS_WITH(score_llava_answers("mmbench", request, llava_fixture("pope/llava_pope_test.jsonl")),
                    ContainsSubstring("LLaVA prints no MMBench score"));
  CHECK_THROWS_WITH(score_llava_answers("chartqa", request, llava_fixture("pope/llava_pope_test.jsonl")),
                    ContainsSubstring("LLaVA has no scoring script for 'chartqa'"));
}

}  // namespace test_llava_answers
