// MMMU (Yue et al., CVPR 2024), dev + validation (MMMU_DEV_VAL: 150 + 900 questions, 30
// subjects in 6 disciplines), multiple-choice and open (short-answer) questions.
//
// Data (--data): VLMEvalKit's MMMU_DEV_VAL.tsv (index, question, A..I, answer, id (MMMU's own
// "validation_Art_Theory_12"), split (dev / validation), category, image, ...; a row without
// options, or with a question_type other than "multiple-choice", is an open question whose
// answer is the text, or a Python list of accepted texts "['24/7', '3.429']"). The Hugging
// Face release (MMMU/MMMU) is parquet; converted elsewhere with
//   python3 -c "import pandas as pd,glob,ast; d=pd.concat(pd.read_parquet(f) for f in sorted(glob.glob('MMMU/*/validation-*.parquet'))); o=d.options.map(ast.literal_eval); [d.insert(len(d.columns), c, o.map(lambda x, i=i: x[i] if i < len(x) else None)) for i, c in enumerate('ABCDEFGHI')]; d.drop(columns=[c for c in d if c.startswith('image')]).to_csv('MMMU_VAL.tsv', sep='\t', index=False)"
// (keeps id and question_type; index is then the row number).
//
// Predictions: JSON lines {"question_id", "text"}; question_id is MMMU's id when the TSV has
// an id column (as MMMU's and TroL's scripts key them), else the TSV index.
//
// Official rule (MMMU-Benchmark/MMMU mmmu/utils/eval_utils.py, main_eval_only.py):
//   multiple choice (parse_multi_choice_response): the answer stripped of , . ! ? ; : ' at
//     both ends (one character kind after the other), padded with spaces; candidates are the
//     letters written "(X)", else those standing as " X ", else (answers of more than 5
//     words) the options whose text occurs in it, case-insensitively; of several candidates
//     the one occurring last (rfind of the form that found it; ties: the first candidate);
//     none: the official script picks a random letter (seeded) -- here wrong and unparsable;
//   open (parse_open_response): the answer stripped, stripped of '.', lowercased, split into
//     lines (its split at ". " before a capital can never fire after lowercasing); in each
//     line the shortest text after the last "could be ", "so ", "is ", "thus ", "therefore ",
//     "final ", "answer ", "result " (and "=" in the last line) is a key answer (no key answer:
//     the whole answer); the numbers in the key answers (extract_numbers: 1,234 forms,
//     scientific, plain) join them; each is normalised (normalize_str: a number after removing
//     commas becomes round(float, 2), else lowercased, a single character c becoming " c" and
//     "c ") and the answer is right when a normalised number equals a normalised accepted
//     answer, or a normalised accepted text occurs in a normalised string prediction
//     (eval_open);
//   accuracy per subject ("_".join(id.split("_")[1:-1]), or the category column without an
//   id column), per discipline (DOMAIN_CAT2SUB_CAT) and overall, instance-weighted
//   (calculate_ins_level_acc); also per split: the published number is split.validation.
//
// --scoring trol (TroL eval/create_evaluator.py evaluate_mmmu): open questions as above; a
// multiple-choice answer is right only when it is exactly the letter (eval_multi_choice on
// the unparsed answer: "B." and "(B)" are wrong); an answer that is not exactly one of the
// letters is counted unparsable.
#pragma once

#include <string>
#include <vector>

#include "eval/benchmarks/multiple_choice.h"
#include "eval/benchmarks/score_common.h"

namespace trol::bench {

// parse_multi_choice_response: the letter, or "" where the official script guesses.
std::string mmmu_choice_letter(const std::string& response, const std::vector<Choice>& choices);

// eval_open(gold, parse_open_response(response)).
bool mmmu_open_correct(const std::string& response, const std::vector<std::string>& accepted);

ScoreReport score_mmmu(const ScoreRequest& request);

}  // namespace trol::bench
