#!/usr/bin/env bash
# The main job: on a fresh machine, install what is missing, build, make the built-in shapes
# dataset, train the tiny TroL model through the paper's two steps (after a preliminary
# stage that pretrains its tiny backbone and vision encoder), evaluate it on the held-out
# POPE-, MMBench- and VQA-style splits, do the same with traversal off under the same budget,
# and print both side by side.
#
#   scripts/run.sh [--out DIR] [--minutes N]
#
# Everything goes under DIR (default runs/quickstart): data/, trol/ and plain/ (the two runs),
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

if [ ! -f "$out/data/dataset.json" ]; then
  build/trol data make-shapes --out "$out/data"
fi
scale=$(awk "BEGIN { print $minutes / 15 }")
# The two variants train side by side, one core each: on 2 cores that gives ~1.8x the
# throughput of running them one after the other with 2 BLAS threads each (BENCHMARKS.md).
common=(data.root="$out/data" train.step_scale="$scale" eval.enabled=true runtime.blas_threads=1)
mkdir -p "$out"
echo "trol: training the traversal-off baseline in the background (log: $out/plain.log)"
build/trol train configs/quickstart.yaml "${common[@]}" train.output_dir="$out/plain" model.trol.traversal=false \
  > "$out/plain.log" 2>&1 &
plain=$!
trap 'kill $plain 2>/dev/null' EXIT
build/trol train configs/quickstart.yaml "${common[@]}" train.output_dir="$out/trol"
if ! wait $plain; then
  echo "trol: the traversal-off run failed; the end of its log:" >&2
  tail -n 20 "$out/plain.log" >&2
  exit 1
fi
trap - EXIT
build/trol report "$out/trol" "$out/plain" --out "$out"
