// MMStar (Chen et al., 2024): 1,500 vision-indispensable multiple-choice questions, 6 core
// capabilities (category) x 3 axes (l2-category), 250 per capability.
//
// Data (--data): VLMEvalKit's MMStar.tsv (columns index, question, A-D, answer (letter),
// category, l2-category, bench, image (base64)). The Hugging Face release (Lin-Chen/MMStar)
// is parquet only; converted elsewhere with
//   python3 -c "import pandas as pd,re; d=pd.read_parquet('mmstar.parquet'); o=d.question.map(lambda q: dict(re.findall(r'([A-D]): (.*?)(?=, [A-D]: |$)', q.split('Options: ')[-1]))); [d.insert(len(d.columns), k, o.map(lambda x, k=k: x.get(k))) for k in 'ABCD']; d.rename(columns={'l2_category': 'l2-category'}).drop(columns=['image']).to_csv('MMStar.tsv', sep='\t', index=False)"
// (its options are inside the question text, "Options: A: ..., B: ..."); VLMEvalKit's TSV is
// the accepted form.
//
// Predictions: JSON lines {"question_id": <index>, "text"}.
//
// Official rule (MMStar's README: evaluated with VLMEvalKit): the option letter by
// vlmevalkit_can_infer; accuracy overall, per category and per l2-category. Answers it cannot
// read are wrong and counted unparsable.
//
// --scoring trol (TroL eval/utils.py eval_mmstar, a copy of MMStar's own eval script): answer
// and prediction lowercased, stripped, newlines as spaces; right when the answer letter is the
// prediction's first character, or its second after "(", or the one after "option " or
// "the answer is " at the start. Here that character is the chosen letter; no character (an
// empty answer) is unparsable. TroL divides by 250 per category and 1500 overall, the counts of
// the full benchmark; here by the questions in the file.
#pragma once

#include "eval/benchmarks/score_common.h"

namespace trol::bench {

ScoreReport score_mmstar(const ScoreRequest& request);

}  // namespace trol::bench
