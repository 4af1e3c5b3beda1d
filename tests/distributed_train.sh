#!/usr/bin/env bash
# Data parallelism through the real binary and scripts/launch.sh: real processes, c10d Gloo on
# loopback.
#   distributed_train.sh TROL PYTHON SOURCE_DIR DATA_ROOT WORK_DIR
# 1. 2 and 3 ranks with global batch B end with the weights of 1 rank with batch B (float
#    tolerance: 2e-4 of each tensor's norm; losses of every step to 1e-6): a full-training config and a LoRA config, with and without gradient
#    accumulation.
# 2. A rank killed mid-run: the other exits non-zero within the timeout naming rank 1 and the
#    collective, launch.sh exits non-zero; the run resumes from its checkpoint with ANOTHER
#    world size (1 rank) and ends with the uninterrupted run's weights.
# 3. A hung rank (SIGSTOP): the other stops after distributed.timeout_seconds, naming it.
set -euo pipefail
trol="$1" python="$2" src="$3" data="$4" work="$5"
rm -rf "$work"
mkdir -p "$work"
launch="$src/scripts/launch.sh"
# AdamW's epsilon at 1e-5 in every stage (as `eps: 1.0e-5` after `batch_size: 4,`): AdamW moves
# each weight by about lr * g / (|g| + eps), so with the default 1e-8 an element whose gradient
# nearly cancels (~1e-7 where the tensor's largest is ~1e-2) moves by a good part of the
# learning rate in a direction its rounding decides, and 1 and N ranks sum in another order.
# Measured on LibTorch 2.11: vision_proj.0.weight[24][0]'s first step-1 gradient was 8.0e-8 on
# 1 rank, 1.5e-7 on 2 (every other element agreed to 6 digits): a weight difference of 2e-4 of
# the tensor's norm. 1e-5 keeps such noise linear (and small); real gradients are >> 1e-5.
with_eps() {  # with_eps SOURCE TARGET
  sed 's/batch_size: 4,/batch_size: 4, eps: 1.0e-5,/' "$1" >"$2"
  [ "$(grep -c 'eps: 1.0e-5' "$2")" = "$(grep -c 'batch_size: 4,' "$1")" ] || { echo "FAIL: could not derive $2"; exit 1; }
}
config="$work/train_tiny.yaml"
lora="$work/train_tiny_lora.yaml"
with_eps "$src/tests/configs/train_tiny.yaml" "$config"
with_eps "$src/tests/configs/train_tiny_lora.yaml" "$lora"
port=$((29600 + RANDOM % 2000))
# 3 + 2 steps; checkpoints every 2 steps; adapter dropout off (each rank draws its own masks,
# so dropout differs from one process by construction).
common=(data.root="$data" eval.enabled=false train.step_scale=0.5 train.log_every=1 train.save_every=2 model.lora.dropout=0
        distributed.timeout_seconds=20)

run1() {  # run1 NAME CONFIG OVERRIDES...: one process
  local name="$1" cfg="$2"; shift 2
  "$trol" train "$cfg" "${common[@]}" train.output_dir="$work/$name" "$@" >"$work/$name.log" 2>&1 ||
    { echo "FAIL: $name"; cat "$work/$name.log"; exit 1; }
}
runN() {  # runN N NAME CONFIG OVERRIDES...: N ranks through launch.sh
  local n="$1" name="$2" cfg="$3"; shift 3
  port=$((port + 1))
  "$launch" --nproc "$n" --master "127.0.0.1:$port" -- "$trol" train "$cfg" "${common[@]}" \
    train.output_dir="$work/$name" "$@" >"$work/$name.log" 2>&1 ||
    { echo "FAIL: $name"; cat "$work/$name.log"; exit 1; }
}
same() {  # same RUN_A RUN_B STAGE: the stage's final weights agree within float tolerance
  "$python" - "$work/$1/checkpoints/$3/model.safetensors" "$work/$2/checkpoints/$3/model.safetensors" \
    "$src/scripts/reference" <<'PY' || { echo "FAIL: $1 and $2 end stage $3 with other weights"; exit 1; }
import sys
sys.path.insert(0, sys.argv[3])
import safetensors_io
a, b = safetensors_io.load(sys.argv[1]), safetensors_io.load(sys.argv[2])
assert a.keys() == b.keys(), "different tensors"
# Per tensor, the norm of the difference relative to the tensor's norm (floored at 0.01: a
# tensor that stays ~0, as key biases do, holds rounding noise only). The summation order
# differs between 1 and 2 ranks, and AdamW's first steps (update ~ lr * g / (|g| + eps))
# turn the rounding of near-zero gradient elements into differences of ~1e-5 of lr; a
# missing or wrong sync differs by ~1e-2.
worst = max((x.double() - b[k].double()).norm().item() / max(x.double().norm().item(), 1e-2)
            for k, x in a.items() if x.is_floating_point())
print(f"largest relative difference {worst:.2e}")
sys.exit(0 if worst < 2e-4 else 1)
PY
}

# 1. N ranks == 1 rank.
run1 one "$config"
runN 2 two "$config"
grep -q "data parallel over 2 ranks (gloo)" "$work/two.log" || { echo "FAIL: no data-parallel stage"; cat "$work/two.log"; exit 1; }
same one two step1
echo "2 ranks == 1 rank (train_tiny, batch 4)"
runN 3 three "$config"
same one three step1
echo "3 ranks == 1 rank (train_tiny, batch 4: shares of 2, 1 and 1 samples)"

accum="$work/train_tiny_accum.yaml"  # every stage with grad_accum: 2
sed 's/batch_size: 4,/batch_size: 4, grad_accum: 2,/' "$config" >"$accum"
grep -q "grad_accum: 2" "$accum" || { echo "FAIL: could not derive $accum"; exit 1; }
run1 one-accum "$accum"
runN 2 two-accum "$accum"
same one-accum two-accum step1
echo "2 ranks == 1 rank with gradient accumulation (2 micro-batches of 4)"

run1 one-lora "$lora"
runN 2 two-lora "$lora"
same one-lora two-lora adapters
echo "2 ranks == 1 rank (LoRA adapters stage)"
runN 3 three-lora "$lora"
same one-lora three-lora adapters
echo "3 ranks == 1 rank (LoRA adapters stage)"

# Only rank 0 writes logs and checkpoints; the metrics are the global batch's.
[ "$(grep -c '"global_step"' "$work/two/metrics.jsonl")" = "$(grep -c '"global_step"' "$work/one/metrics.jsonl")" ] ||
  { echo "FAIL: metrics.jsonl of the 2-rank run has another number of rows"; exit 1; }
"$python" - "$work/one/metrics.jsonl" "$work/two/metrics.jsonl" <<'PY' || { echo "FAIL: 2-rank metrics differ"; exit 1; }
import json, sys
one = [json.loads(l) for l in open(sys.argv[1])]
two = [json.loads(l) for l in open(sys.argv[2])]
for a, b in zip(one, two):
    assert abs(a["loss"] - b["loss"]) <= 1e-6 * abs(a["loss"]), (a["loss"], b["loss"])
    assert b["ranks"] == 2
PY
echo "rank 0 logged the global batch's loss, equal to the single process's at every step"

# 2. Rank 1 killed after step 3 (checkpoint step-2 exists): rank 0 fails fast, naming it.
port=$((port + 1))
set +e
start=$(date +%s)
TROL_FAULT=after_step@3 TROL_FAULT_RANK=1 "$launch" --nproc 2 --master "127.0.0.1:$port" -- "$trol" train "$config" \
  "${common[@]}" train.output_dir="$work/killed" >"$work/killed.log" 2>&1
rc=$?
set -e
elapsed=$(( $(date +%s) - start ))
[ "$rc" -ne 0 ] || { echo "FAIL: launch.sh exited 0 although rank 1 was killed"; cat "$work/killed.log"; exit 1; }
grep -q "\[rank 0\] \[error\] rank 0: collective '.*' failed: .*rank 1 did not report" "$work/killed.log" ||
  { echo "FAIL: rank 0 did not name rank 1 and the collective"; cat "$work/killed.log"; exit 1; }
grep -q "launch.sh: rank 0 (pid [0-9]*) exited with status 1" "$work/killed.log" ||
  { echo "FAIL: rank 0 did not exit with status 1"; cat "$work/killed.log"; exit 1; }
[ "$elapsed" -lt 20 ] || { echo "FAIL: the failure took ${elapsed}s to stop rank 0 (timeout 20 s)"; exit 1; }
echo "rank 1 killed: rank 0 stopped in ${elapsed}s naming rank 1 and the collective; launch.sh exit $rc"
# Resumed on 1 rank (another world size) from step-2: the uninterrupted run's weights.
run1 killed "$config" train.resume=auto
grep -q "resuming from .*/step-2: " "$work/killed.log" || { echo "FAIL: did not resume from step-2"; cat "$work/killed.log"; exit 1; }
same two killed step1
echo "resumed on 1 rank from the 2-rank checkpoint: same weights as the uninterrupted run"

# 3. Rank 1 hangs (SIGSTOP) after step 1: rank 0 gives up after the 4 s timeout.
port=$((port + 1))
set +e
start=$(date +%s)
TROL_FAULT=after_step@1:STOP TROL_FAULT_RANK=1 "$launch" --nproc 2 --grace 2 --master "127.0.0.1:$port" -- \
  "$trol" train "$config" "${common[@]}" distributed.timeout_seconds=4 train.output_dir="$work/hung" >"$work/hung.log" 2>&1
rc=$?
set -e
elapsed=$(( $(date +%s) - start ))
[ "$rc" -ne 0 ] || { echo "FAIL: launch.sh exited 0 although rank 1 hung"; cat "$work/hung.log"; exit 1; }
grep -q "rank 0: collective '.*' failed: .*rank 1 did not report" "$work/hung.log" ||
  { echo "FAIL: rank 0 did not name the hung rank 1"; cat "$work/hung.log"; exit 1; }
echo "rank 1 hung: rank 0 stopped after the timeout naming rank 1 (${elapsed}s in all); launch.sh exit $rc"

# 4. Exact resume on as many ranks, adapter dropout on: every rank's generator state is in the
# checkpoint. Rank 1 gets SIGTERM after step 5 (inside the dropout stage); both stop, and the
# resumed run ends byte for byte with the uninterrupted one's adapters.
runN 2 dropout "$lora" model.lora.dropout=0.1
port=$((port + 1))
TROL_FAULT=after_step@5:TERM TROL_FAULT_RANK=1 "$launch" --nproc 2 --master "127.0.0.1:$port" -- "$trol" train "$lora" \
  "${common[@]}" model.lora.dropout=0.1 train.output_dir="$work/dropout-stopped" >"$work/dropout-stopped.log" 2>&1 ||
  { echo "FAIL: the SIGTERM-stopped run did not exit 0"; cat "$work/dropout-stopped.log"; exit 1; }
grep -q "stopped after step" "$work/dropout-stopped.log" || { echo "FAIL: no stop"; cat "$work/dropout-stopped.log"; exit 1; }
runN 2 dropout-stopped "$lora" model.lora.dropout=0.1 train.resume=auto
cmp -s "$work/dropout/checkpoints/adapters/model.safetensors" "$work/dropout-stopped/checkpoints/adapters/model.safetensors" ||
  { echo "FAIL: 2 ranks resumed with dropout end with other adapters than the uninterrupted run"; exit 1; }
echo "2 ranks stopped and resumed with adapter dropout: byte-identical adapters"

# 5. ZeRO-1: the AdamW state sharded over the ranks gives the unsharded run's weights byte for
# byte; its checkpoint (the whole state, gathered on rank 0) resumes on 1 rank.
runN 2 zero1 "$config" distributed.zero1=true
grep -q "ZeRO-1: this rank keeps the AdamW state of" "$work/zero1.log" || { echo "FAIL: no ZeRO-1"; cat "$work/zero1.log"; exit 1; }
cmp -s "$work/two/checkpoints/step1/model.safetensors" "$work/zero1/checkpoints/step1/model.safetensors" ||
  { echo "FAIL: ZeRO-1 ends with other weights than plain data parallelism"; exit 1; }
port=$((port + 1))
TROL_FAULT=after_step@4:TERM TROL_FAULT_RANK=1 "$launch" --nproc 2 --master "127.0.0.1:$port" -- "$trol" train "$config" \
  "${common[@]}" distributed.zero1=true train.output_dir="$work/zero1-stopped" >"$work/zero1-stopped.log" 2>&1 ||
  { echo "FAIL: the SIGTERM-stopped ZeRO-1 run did not exit 0"; cat "$work/zero1-stopped.log"; exit 1; }
run1 zero1-stopped "$config" train.resume=auto
same two zero1-stopped step1
echo "ZeRO-1: byte-identical to plain data parallelism; its checkpoint resumes on 1 rank"

echo "data-parallel runs match the single process; failures stop every rank"
