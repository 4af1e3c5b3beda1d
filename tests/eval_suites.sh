#!/usr/bin/env bash
# trol eval on public benchmarks in their own layouts (tests/fixtures/eval_suites/, tiny PNG
# images, some missing or corrupt), with the tiny trained run's checkpoint:
#   eval_suites.sh TROL PYTHON SOURCE_DIR DATA_ROOT RUN_DIR WORK_DIR
# 1. One process: every benchmark's predictions file holds every item (text-only questions and
#    several images in one prompt included) but those whose image is missing or corrupt, which the metrics count (generation.image_errors) and the scorer counts
#    missing; metrics/<suite>.json, report.md (with the paper's numbers) and results.json are written.
# 2. Two ranks through scripts/launch.sh (c10d Gloo on loopback) write the same predictions, the
#    built-in splits' too (the same path), byte for byte.
# 3. eval.every_steps during trol train logs the suites' metrics in metrics.jsonl.
set -euo pipefail
trol="$1" python="$2" src="$3" data="$4" run="$5" work="$6"
rm -rf "$work"
mkdir -p "$work"
fx="$src/tests/fixtures/eval_suites"
config="$src/tests/configs/train_tiny.yaml"
suites="[{benchmark: pope, data: $fx/pope}, {benchmark: mme, data: $fx/mme}, {benchmark: mmbench, data: $fx/mmbench/mmbench_dev.tsv},
 {benchmark: scienceqa, data: $fx/scienceqa}, {benchmark: chartqa, data: $fx/chartqa/test},
 {benchmark: textvqa, data: $fx/textvqa/TextVQA_0.5.1_val.json}, {benchmark: mathvista, data: $fx/mathvista/data/testmini.json, max_new_tokens: 24},
 {benchmark: mmmu, data: $fx/mmmu/MMMU_DEV_VAL.tsv}, {benchmark: hallusionbench, data: $fx/hallusionbench/HallusionBench.json},
 {benchmark: vqa, name: shapes_vqa, data: $fx/vqa/vqa.jsonl}]"
common=(data.root="$data" "eval.suites=$suites" "eval.benchmarks=[pope_random, vqa]" eval.limit=0 eval.batch_size=2 distributed.timeout_seconds=60)

# 1. One process.
"$trol" eval "$config" --model "$run/checkpoints/step1" "${common[@]}" --out "$work/one" >"$work/one.log" 2>&1 ||
  { echo "FAIL: trol eval"; cat "$work/one.log"; exit 1; }
grep -q "pope: 2 of 7 items have no usable image" "$work/one.log" || { echo "FAIL: image errors not reported"; cat "$work/one.log"; exit 1; }
"$python" - "$work/one" <<'PY'
import json, os, sys
out = sys.argv[1]
# suite: (items, image errors, ids expected in the predictions file)
expected = {
    "pope": (7, 2, ["1", "2", "5", "1", "2"]),
    "mme": (4, 0, ["existence/0001.png"] * 2 + ["artwork/10.png"] * 2),
    "mmbench": (3, 0, ["0", "1000000", "1"]),
    "scienceqa": (3, 1, ["10", "11"]),
    "chartqa": (3, 0, ["human/0", "human/1", "human/2"]),
    "textvqa": (2, 0, ["34602", "34603"]),
    "mathvista": (2, 0, ["1", "2"]),
    # Two images in one prompt, each where the text refers to it.
    "mmmu": (2, 0, ["validation_Art_1", "validation_Art_2"]),
    # A question without a figure is asked as text; one figure is missing.
    "hallusionbench": (3, 1, ["VS_chart_0_0_0", "VS_chart_0_1_0"]),
    "shapes_vqa": (4, 1, ["1", "2", "c3"]),
}
results = json.load(open(f"{out}/results.json"))
for name, (items, errors, ids) in expected.items():
    records = [json.loads(l) for l in open(f"{out}/predictions/{name}.jsonl")]
    got = [str(r["question_id"]) for r in records]
    assert got == ids, f"{name}: predictions for {got}, expected {ids}"
    assert all(isinstance(r["text"], str) for r in records), name
    m = json.load(open(f"{out}/metrics/{name}.json"))
    g = m["generation"]
    assert (g["items"], g["image_errors"]) == (items, errors), f"{name}: generation {g}"
    assert m["counts"]["missing"] == errors, f"{name}: the scorer counts {m['counts']['missing']} missing, not {errors}"
    assert m["counts"]["items"] == items, f"{name}: the scorer sees {m['counts']['items']} items"
    assert name in results["benchmarks"], f"{name} not in results.json"
pope = json.load(open(f"{out}/metrics/pope.json"))
failed = {e["id"] for e in pope["generation"]["image_error_items"]}
assert failed == {"random/3", "random/4"}, failed
assert [r["category"] for r in map(json.loads, open(f"{out}/predictions/pope.jsonl"))] == ["random"] * 3 + ["popular"] * 2
report = open(f"{out}/report.md").read()
assert "| pope | pope |" in report and "2308" in report and "ByungKwanLee/TroL" in report, report
print("every benchmark: predictions, metrics and report written")
PY

# 2. Two ranks write the same predictions.
port=$((29600 + RANDOM % 2000))
"$src/scripts/launch.sh" --nproc 2 --master "127.0.0.1:$port" -- "$trol" eval "$config" --model "$run/checkpoints/step1" \
  "${common[@]}" --out "$work/two" >"$work/two.log" 2>&1 || { echo "FAIL: 2-rank trol eval"; cat "$work/two.log"; exit 1; }
for f in "$work"/one/predictions/*.jsonl; do
  cmp "$f" "$work/two/predictions/$(basename "$f")" || { echo "FAIL: 2 ranks differ from 1 on $(basename "$f")"; exit 1; }
done
grep -q '"ranks": 2' "$work/two/metrics/pope.json" || { echo "FAIL: not evaluated by 2 ranks"; exit 1; }

# 3. Evaluation every N steps of training.
"$trol" train "$config" "${common[@]}" eval.enabled=false eval.every_steps=5 "eval.suites=[{benchmark: pope, data: $fx/pope}]" \
  train.output_dir="$work/train" >"$work/train.log" 2>&1 || { echo "FAIL: trol train with eval.every_steps"; cat "$work/train.log"; exit 1; }
"$python" - "$work/train" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(f"{sys.argv[1]}/metrics.jsonl")]
steps = [r["global_step"] for r in rows if "eval" in r]
assert steps == [5, 10], f"evaluated at steps {steps}"
assert all("pope" in r["eval"] and "average" in r["eval"]["pope"] for r in rows if "eval" in r), rows
PY
test -f "$work/train/eval/step-10/metrics/pope.json" || { echo "FAIL: no step-10 metrics"; exit 1; }
echo "trol eval on public benchmarks: 2 ranks equal 1; every_steps logged"
