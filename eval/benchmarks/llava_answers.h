// Answer files from LLaVA's evaluation pipeline (haotian-liu/LLaVA, scripts/v1_5/eval/*.sh),
// scored so that `trol score --questions FILE` gives exactly the numbers LLaVA's scripts print.
//
// LLaVA's model_vqa_loader.py (and model_vqa_science.py) write one JSON line per question
//   {"question_id", "prompt", "text", "answer_id", "model_id", "metadata"}
// where question_id is the id in LLaVA's own question file (--questions), "prompt" the question
// as asked and "text" the answer. LLaVA's ids are not the benchmarks' ids (POPE's splits are
// renumbered, TextVQA's question_id is the image id), and LLaVA's scripts score differently
// from the benchmarks' own scorers in places, so these answers get LLaVA's rules:
//
//   pope       --questions llava_pope_test.jsonl (question_id, image, text, category),
//              --data the folder of POPE's label files coco_pope_<category>.json.
//              eval_pope.py: each category's answers, in answer-file order, are zipped with the
//              lines of coco_pope_<category>.json in file order (pairing by position, not by id:
//              a reordered or incomplete answer file misaligns, and LLaVA prints what it gets;
//              we print the same and say how many pairs are of different questions). Labels:
//              exactly "no" is no, anything else yes. The yes/no reading of an answer is POPE's
//              (pope.h). Printed per category: TP FP TN FN, accuracy, precision, recall, F1 and
//              the yes ratio (over all the category's answers, paired or not).
//   textvqa    --questions llava_textvqa_val_v051_ocr.jsonl (question_id = the image id),
//              --data TextVQA_0.5.1_val.json. eval_textvqa.py joins each answer to the
//              annotation with the same image_id and the same lowercased question, the question
//              taken from the answer's prompt (its first line, or the line that is not the
//              "Reference OCR token:" one, or the text between "Question: " and " Short answer:"
//              for prompts that start "OCR tokens: "); the accuracy (textvqa.h) is averaged over
//              the answers, not the annotations: a duplicate answer counts twice.
//   scienceqa  --questions llava_test_CQM-A.json (a JSON list of {"id", "conversations", "image"}),
//              --data ScienceQA's folder (problems.json, pid_splits.json). eval_science_qa.py:
//              every problem of the test split (image or not) is scored, the letter by its rule
//              (scienceqa.h, official); a missing answer is wrong. IMG-Accuracy is over the
//              problems whose answer's prompt holds "<image>", so a missing answer (prompt
//              "Unknown") leaves the IMG denominator (trol's own ScienceQA-IMG counts it wrong).
//              The last answer of an id wins.
//   mme        --questions llava_mme.jsonl (question_id = "<subtask>/<image file>"),
//              --data MME_Benchmark_release_version/. convert_answer_to_mme.py finds each
//              answer's ground truth by subtask, image and question (the prompt without
//              "Answer the question using a single word or phrase.", stripped, with
//              " Please answer yes or no." appended when absent, or with two spaces when the
//              one-space form is not a question); MME's calculation.py then pairs CONSECUTIVE
//              answers of a subtask, in answer-file order, as one image's two questions (acc+).
//              The answer, lowercased with the line's newline still on it, is yes/no when its
//              first 4 characters hold "yes" (else "no"), else other.
//   seedbench  --questions llava-seed-bench.jsonl, --data SEED-Bench.json (image AND video
//              questions). convert_seed_for_submission.py: an answer is right when its text
//              equals the answer letter exactly (no letter extraction); accuracy per question
//              type over all questions, then the total, then image and video accuracy; a
//              missing answer is wrong. The last answer of an id wins.
//   mmbench    LLaVA prints no score: convert_mmbench_for_submission.py only writes the xlsx that
//              OpenCompass's server scores (with ChatGPT matching). LLaVA's MMBench answers are
//              keyed by the TSV's index, which `trol score --benchmark mmbench` reads without
//              --questions (VLMEvalKit's circular rule, mmbench.h); --questions is refused.
//
// Ids are compared as text (LLaVA's Python compares 1 and "1" as different keys; LLaVA's own
// files are consistent, so this only matters for hand-made files). Python's str.lower() is
// applied as ASCII lowercasing: non-ASCII capitals in a TextVQA question or an MME answer are
// left as they are. Bad input: an answer whose question_id is not in --questions, a category
// without a label file, an answer without ground truth (where LLaVA's script raises
// KeyError) are errors naming file:line.
#pragma once

#include <string>
#include <vector>

#include "eval/benchmarks/score_common.h"

namespace trol::bench {

struct LlavaScore {
  ScoreReport report;                // the numbers, by the names LLaVA prints them
  std::string script;                // the LLaVA script whose output `printed` reproduces
  std::vector<std::string> printed;  // that script's output lines, formatted as it formats them
};

// Benchmarks scored by LLaVA's rules with --questions.
std::vector<std::string> llava_benchmark_names();

// Scores LLaVA's answers (request.predictions) to LLaVA's question file `questions_file` by
// LLaVA's script for `benchmark` (request.scoring is ignored: LLaVA has one rule). Throws
// std::invalid_argument for a benchmark LLaVA does not score, BenchmarkFileError for bad files.
LlavaScore score_llava_answers(const std::string& benchmark, const ScoreRequest& request,
                               const std::string& questions_file);

// eval_textvqa.py's prompt_processor: the question inside an answer's prompt, lowercased; ""
// when the prompt has none of LLaVA's layouts (the script's assert).
std::string llava_textvqa_question(const std::string& prompt);

}  // namespace trol::bench
