#!/usr/bin/env bash
# Performance of trol on this machine, each figure a ratio against a baseline measured in the
# same run (BENCHMARKS.md records the results):
#   - training step of the bench configs (configs/bench/small.yaml, medium.yaml): time,
#     tokens/s, achieved FLOP/s and MFU against the fp32 matrix-product peak measured here;
#   - the same step in eager PyTorch (scripts/reference/, Debian's python3-torch: the same
#     LibTorch build), on the same weights and batch, with the same intra-op threads;
#   - TroL against the same model with traversal off;
#   - prefill (forward only), and the data pipeline against the rate training consumes it;
#   - decoding with the KV cache at batch 1 and 4: time per token along 256 generated tokens,
#     and against recomputing the whole sequence at the last one.
#
#   scripts/bench.sh [--out DIR] [--quick]
#
# --quick runs fewer iterations (a smoke test of the script, not numbers to record).
set -euo pipefail
cd "$(dirname "$0")/.."

out=runs/bench
iterations_small=8
iterations_medium=3
new_tokens=256
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --quick) iterations_small=2; iterations_medium=1; new_tokens=48; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

scripts/setup.sh
TROL_BUILD_TARGET=trol_cli scripts/build.sh
python=/usr/bin/python3
tcmalloc=$(ldd build/trol | awk '/libtcmalloc/ { print $3 }')
mkdir -p "$out"

# bench NAME CONFIG BATCH WARMUP ITERATIONS: trol's training step (TroL and traversal off),
# its prefill, and the reference's training step on the exported first step.
bench() {
  local name="$1" config="$2" batch="$3" warmup="$4" iterations="$5"
  local common=(--batch-size "$batch" --warmup "$warmup" --iterations "$iterations")
  echo "== $name: trol, TroL training step"
  rm -rf "$out/$name.export"
  build/trol bench "$config" --what train "${common[@]}" --export "$out/$name.export" --json "$out/$name.train.json"
  echo "== $name: trol, fused CPU kernels off"
  build/trol bench "$config" --what train "${common[@]}" runtime.fused_cpu_kernels=false --json "$out/$name.train_unfused.json"
  echo "== $name: trol, traversal off"
  build/trol bench "$config" --what train "${common[@]}" model.trol.traversal=false --json "$out/$name.train_plain.json"
  echo "== $name: trol, prefill"
  build/trol bench "$config" --what prefill "${common[@]}" --json "$out/$name.prefill.json"
  local decode_batch
  for decode_batch in 1 4; do
    echo "== $name: trol, decoding $new_tokens tokens with the KV cache (batch $decode_batch, 128-token prompts)"
    build/trol bench "$config" --what decode --batch-size "$decode_batch" --seq-len 128 --new-tokens "$new_tokens" \
      --warmup 1 --iterations 2 --json "$out/$name.decode_b$decode_batch.json"
  done
  echo "== $name: eager PyTorch reference, TroL training step"
  local threads
  threads=$($python -c "import json,sys; print(json.load(open(sys.argv[1]))['intra_op_threads'])" "$out/$name.train.json")
  $python scripts/reference/bench_step.py "$out/$name.export" --warmup "$warmup" --iterations "$iterations" \
    --threads "$threads" --json "$out/$name.reference.json"
  echo "== $name: eager PyTorch reference with tcmalloc preloaded (the allocator trol links)"
  LD_PRELOAD="$tcmalloc" $python scripts/reference/bench_step.py "$out/$name.export" --warmup "$warmup" \
    --iterations "$iterations" --threads "$threads" --json "$out/$name.reference_tcmalloc.json"
  rm -rf "$out/$name.export"  # weights and gradients: hundreds of MB for medium
}

# Medium warms up twice: its first steps still fault in fresh memory.
bench small configs/bench/small.yaml 8 1 "$iterations_small"
bench medium configs/bench/medium.yaml 1 2 "$iterations_medium"

# The data pipeline (one background thread) on the built-in dataset, at the batch size of the
# main job's instruction stage, against that stage's training step.
echo "== data pipeline"
build/trol data make-shapes --out "$out/shapes" --train-images 2000 --eval-images 10 --force > /dev/null
data=(data.root="$out/shapes")
build/trol bench configs/quickstart.yaml --what data --batch-size 16 --warmup 2 --iterations 40 "${data[@]}" \
  --json "$out/data.json"
build/trol bench configs/quickstart.yaml --what train --batch-size 16 --warmup 1 --iterations "$iterations_small" \
  "${data[@]}" --json "$out/quickstart.train.json"

$python - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
load = lambda name: json.load(open(os.path.join(out, name)))
rows, results = [], {}
for name in ("small", "medium"):
    train, plain = load(f"{name}.train.json"), load(f"{name}.train_plain.json")
    prefill, ref = load(f"{name}.prefill.json"), load(f"{name}.reference.json")
    unfused, ref_tc = load(f"{name}.train_unfused.json"), load(f"{name}.reference_tcmalloc.json")
    step = train["step_seconds"]["median"]
    r = {
        "tokens_per_step": train["tokens_per_step"],
        "train_step_ms": 1e3 * step,
        "train_tokens_per_s": train["tokens_per_second"],
        "train_gflops": train["achieved_flops"] / 1e9,
        "peak_gflops": train["peak_flops"] / 1e9,
        "train_mfu": train["mfu"],
        "prefill_mfu": prefill["mfu"],
        "reference_step_ms": 1e3 * ref["step_seconds"]["median"],
        "speed_vs_reference": ref["step_seconds"]["median"] / step,
        "reference_tcmalloc_step_ms": 1e3 * ref_tc["step_seconds"]["median"],
        "speed_vs_reference_tcmalloc": ref_tc["step_seconds"]["median"] / step,
        "fused_kernels_speedup": unfused["step_seconds"]["median"] / step,
        "trol_vs_traversal_off": step / plain["step_seconds"]["median"],
        "peak_rss_mib": train["peak_rss_bytes"] / 2**20,
    }
    for b in (1, 4):
        decode = load(f"{name}.decode_b{b}.json")
        r[f"decode_b{b}_ms_early"] = 1e3 * decode["token_seconds_early"]
        r[f"decode_b{b}_ms_late"] = 1e3 * decode["token_seconds_late"]
        r[f"decode_b{b}_late_over_early"] = decode["late_over_early"]
        r[f"decode_b{b}_vs_recompute"] = decode["speedup_over_recompute"]
    results[name] = r
data, quick = load("data.json"), load("quickstart.train.json")
results["data"] = {
    "batches_per_s": data["batches_per_second"],
    "quickstart_steps_per_s": 1 / quick["step_seconds"]["median"],
    "vs_quickstart_step": data["batches_per_second"] * quick["step_seconds"]["median"],
    "tokens_per_s": data["tokens_per_second"],
    "vs_medium_train_tokens": data["tokens_per_second"] / results["medium"]["train_tokens_per_s"],
}
json.dump(results, open(os.path.join(out, "results.json"), "w"), indent=2)

print()
print(f"{'':40}{'small':>12}{'medium':>12}")
def line(label, key, fmt):
    print(f"{label:40}" + "".join(f"{format(results[n][key], fmt):>12}" for n in ("small", "medium")))
line("tokens per step", "tokens_per_step", ".0f")
line("training step (ms)", "train_step_ms", ".1f")
line("training tokens/s", "train_tokens_per_s", ".0f")
line("achieved GFLOP/s", "train_gflops", ".1f")
line("fp32 matrix-product peak GFLOP/s", "peak_gflops", ".1f")
line("MFU, training step", "train_mfu", ".3f")
line("MFU, prefill", "prefill_mfu", ".3f")
line("eager PyTorch step (ms)", "reference_step_ms", ".1f")
line("trol speed / eager PyTorch", "speed_vs_reference", ".2f")
line("eager PyTorch + tcmalloc step (ms)", "reference_tcmalloc_step_ms", ".1f")
line("trol speed / eager PyTorch+tcmalloc", "speed_vs_reference_tcmalloc", ".2f")
line("speed-up from fused CPU kernels", "fused_kernels_speedup", ".2f")
line("TroL step / traversal off", "trol_vs_traversal_off", ".2f")
line("peak RSS (MiB)", "peak_rss_mib", ".0f")
for b in (1, 4):
    line(f"decode batch {b}: ms/token, tokens 9-24", f"decode_b{b}_ms_early", ".2f")
    line(f"decode batch {b}: ms/token, last 16", f"decode_b{b}_ms_late", ".2f")
    line(f"decode batch {b}: last / tokens 9-24", f"decode_b{b}_late_over_early", ".2f")
    line(f"decode batch {b}: cache / recompute", f"decode_b{b}_vs_recompute", ".1f")
d = results["data"]
print(f"data pipeline: {d['batches_per_s']:.1f} batches/s of 16 = {d['vs_quickstart_step']:.1f}x the main job's "
      f"training steps/s ({d['quickstart_steps_per_s']:.2f}); {d['tokens_per_s']:.0f} tokens/s = "
      f"{d['vs_medium_train_tokens']:.0f}x the medium step's")
print(f"results: {out}/results.json")
PY
