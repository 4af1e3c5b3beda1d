#!/usr/bin/env bash
# trol generate on a run's final checkpoint must answer the first POPE questions as the
# evaluation of trol train answered them (a single prompt, against batched, left-padded ones):
#   generate_matches_eval.sh TROL PYTHON DATA_ROOT RUN_DIR
set -euo pipefail
trol="$1" python="$2" data="$3" run="$4"
"$python" - "$trol" "$data" "$run" <<'PY'
import json, subprocess, sys
trol, data, run = sys.argv[1:4]
questions = [json.loads(line) for line in open(f"{data}/eval/pope_random.jsonl")]
predictions = [json.loads(line) for line in open(f"{run}/predictions/pope_random.jsonl")]
for question, prediction in list(zip(questions, predictions))[:3]:
    assert prediction["question_id"] == question["question_id"], (question, prediction)
    # The evaluator's prompt (POPE's, as LLaVA writes it): the question plus the short-answer instruction.
    prompt = question["text"] + "\nAnswer the question using a single word or phrase."
    answer = subprocess.run(
        [trol, "generate", "--model", f"{run}/checkpoints/step1", "--image", f"{data}/images/{question['image']}",
         "--prompt", prompt, "--max-new-tokens", "6", f"data.root={data}"],
        check=True, stdout=subprocess.PIPE, text=True).stdout.strip()
    if answer != prediction["text"]:
        sys.exit(f"trol generate answered {answer!r} to {prompt!r} about {question['image']}; "
                 f"the evaluation answered {prediction['text']!r}")
print("trol generate gives the evaluation's answers")
PY
