#!/usr/bin/env bash
# The main job: on a fresh machine, install what is missing, build, make the built-in shapes
# dataset, train the tiny TroL model through the paper's two steps (after a preliminary
# stage that pretrains its tiny backbone and vision encoder), evaluate it on the held-out
# POPE-, MMBench- and VQA-style splits, do the same with traversal off under the same budget,
# and print both side by side.
#
#   scripts/run.sh [--out DIR] [--minutes N]
#
# Everything goes under DIR (default runs/quickstart): data/, backbone/ (the shared pretraining),
# trol/ and plain/ (the two variants),
# results.json, loss_curve.png and mixing_ratios.png. --minutes scales the training steps
# (15, the default, is the budget the README's numbers come from).
set -euo pipefail
cd "$(dirname "$0")/.."

out=runs/quickstart
minutes=15
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --minutes) minutes="$2"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$minutes" in ''|*[!0-9]*) echo "run.sh: --minutes takes a whole number, got '$minutes'" >&2; exit 2 ;; esac

scripts/setup.sh
TROL_BUILD_TARGET=trol_cli scripts/build.sh

# Always rendered afresh (a few seconds, deterministic), so a dataset left by an older
# generator version is never trained on.
build/trol data make-shapes --out "$out/data" --force
scale=$(awk "BEGIN { print $minutes / 15 }")
common=(data.root="$out/data" train.step_scale="$scale")
# The main job always trains afresh: the run folders of an earlier run.sh go (trol train would
# otherwise keep them under previous/, as it does for any run it is not told to resume).
rm -rf "$out/backbone" "$out/trol" "$out/plain"
mkdir -p "$out"

# 1. The backbone: the paper starts TroL from a pretrained LLM and vision encoder; the tiny
#    model has none, so its plain decoder (traversal off, as a real backbone was pretrained)
#    and its vision encoder are pretrained here on captions, once, for both variants.
backbone="$out/backbone/checkpoints/pretrain/model.safetensors"
echo "trol: pretraining the tiny backbone (the stand-in for a pretrained LLM and vision encoder)"
build/trol train configs/quickstart.yaml --stages pretrain "${common[@]}" model.trol.traversal=false \
  eval.enabled=false train.output_dir="$out/backbone"

# 2. The paper's steps 1 and 2 from that backbone, with TroL and with traversal off. The two
#    train side by side, one core each: on 2 cores that gives ~1.8x the throughput of running
#    them one after the other with 2 BLAS threads each (BENCHMARKS.md).
steps=(--stages step1,step2_existence,step2_colour,step2_counting,step2_all "${common[@]}" train.init_from="$backbone" eval.enabled=true runtime.blas_threads=1)
echo "trol: training the traversal-off baseline in the background (log: $out/plain.log)"
build/trol train configs/quickstart.yaml "${steps[@]}" train.output_dir="$out/plain" model.trol.traversal=false \
  > "$out/plain.log" 2>&1 &
plain=$!
trap 'kill $plain 2>/dev/null' EXIT
build/trol train configs/quickstart.yaml "${steps[@]}" train.output_dir="$out/trol"
if ! wait $plain; then
  echo "trol: the traversal-off run failed; the end of its log:" >&2
  tail -n 20 "$out/plain.log" >&2
  exit 1
fi
trap - EXIT
build/trol report "$out/trol" "$out/plain" --out "$out"
