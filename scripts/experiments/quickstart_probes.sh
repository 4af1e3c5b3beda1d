#!/usr/bin/env bash
# Probes of what the quickstart's tiny TroL model can learn in a stage of its own (docs/quickstart.md,
# "What it does not learn in this budget"): the main job's data, backbone and stages up to
# step2_counting, then each probe stage alone from that checkpoint, one core each, two side
# by side, evaluated on held-out questions; then the option-letter lookup alone, text only, from
# the backbone. ~25 minutes on 2 cores.
#
#   scripts/experiments/quickstart_probes.sh [--out DIR] [--scale S]
#
# --scale multiplies every stage's steps (0.05 checks the plumbing in a few minutes).
set -euo pipefail
cd "$(dirname "$0")/../.."

out=runs/probes
scale=1
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --scale) scale="$2"; shift 2 ;;
    *) echo "quickstart_probes.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

mkdir -p "$out"
config="$out/probes.yaml"
# The quickstart recipe with the probe stages appended to its stage list (which ends where eval: begins).
awk -v stages=scripts/experiments/quickstart_probe_stages.yaml \
  '/^eval:/ { while ((getline line < stages) > 0) if (line !~ /^#/) print line } { print }' \
  configs/quickstart.yaml > "$config"

build/trol data make-shapes --out "$out/data" --force
/usr/bin/python3 scripts/experiments/quickstart_probe_data.py "$out/data" "$out/data_probe_eval"
common=(train.step_scale="$scale")
build/trol train "$config" --stages pretrain "${common[@]}" data.root="$out/data" model.trol.traversal=false \
  eval.enabled=false train.output_dir="$out/backbone"
build/trol train "$config" --stages step1,step2_existence,step2_colour,step2_counting "${common[@]}" \
  data.root="$out/data" train.init_from="$out/backbone/checkpoints/pretrain/model.safetensors" eval.enabled=false \
  train.output_dir="$out/trol"

# probe NAME STAGES DATA_ROOT BENCHMARKS
probe() {
  build/trol train "$config" --stages "$2" "${common[@]}" data.root="$3" runtime.blas_threads=1 \
    train.init_from="$out/trol/checkpoints/step2_counting/model.safetensors" eval.enabled=true \
    eval.benchmarks="$4" eval.limit=2000 train.output_dir="$out/$1" > "$out/$1.log" 2>&1
}
built_in=[vqa,mmbench]
probes="$out/data_probe_eval"
probe position_alone position_alone "$out/data" "$built_in" & probe choice_alone choice_alone "$out/data" "$built_in" & wait
probe pos_shape_alone pos_shape_alone "$probes" [vqa] & probe mc_colour_alone mc_colour_alone "$probes" [vqa] & wait
probe loc_shape_alone loc_shape_alone "$probes" [vqa] & probe pos_shape_long pos_shape_long "$probes" [vqa] & wait
probe text_then_mc_colour text_choice,mc_colour_alone "$probes" [vqa]

# The option-letter lookup alone, text only, from the traversal-off backbone (no image stage
# before it), at the job's learning rate and a lower one; scored on fresh draws of the
# question by `trol generate` (the built-in benchmarks need an image per item).
lookup() {
  build/trol train "$config" --stages "$1" "${common[@]}" data.root="$out/data" runtime.blas_threads=1 \
    train.init_from="$out/backbone/checkpoints/pretrain/model.safetensors" model.trol.traversal=false \
    eval.enabled=false train.output_dir="$out/$1" > "$out/$1.log" 2>&1
  /usr/bin/python3 - "$out/data/probes/text_lookup_questions.jsonl" "$out/$1/checkpoints/$1" > "$out/$1.score" <<'PY'
import json, subprocess, sys
questions = [json.loads(line) for line in open(sys.argv[1])]
right = 0
for q in questions:
    answer = subprocess.run(["build/trol", "generate", "--model", sys.argv[2], "--prompt", q["prompt"],
                             "--max-new-tokens", "2"], capture_output=True, text=True, check=True).stdout.strip()
    right += answer[:1] == q["answer"]
print("text_lookup %.3f (%d)" % (right / len(questions), len(questions)))
PY
}
lookup text_lookup_lr_1e3 & lookup text_lookup_lr_3e4 & wait

for run in position_alone choice_alone pos_shape_alone mc_colour_alone loc_shape_alone pos_shape_long text_then_mc_colour; do
  echo "$run:"
  build/trol report "$out/$run"
done
for run in text_lookup_lr_1e3 text_lookup_lr_3e4; do printf "%-22s %s\n" "$run" "$(cat "$out/$run.score")"; done
