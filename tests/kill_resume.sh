#!/usr/bin/env bash
# Exact resume through the real binary: runs killed at chosen points (TROL_FAULT, a real
# SIGKILL or SIGTERM; train/fault_injection.h) and resumed with train.resume=auto must end
# with weights byte-identical to a run that was never stopped.
#   kill_resume.sh TROL CONFIG DATA_ROOT WORK_DIR LORA_CONFIG
# CONFIG's two stages take 6 + 4 steps; checkpoints every 2 steps. LORA_CONFIG trains LoRA
# adapters with dropout in its second stage: its resume also needs the generator states.
set -euo pipefail
trol="$1" config="$2" data="$3" work="$4" lora_config="$5"
rm -rf "$work"
mkdir -p "$work"
common=(data.root="$data" train.save_every=2 train.keep_checkpoints=3 eval.enabled=false)

"$trol" train "$config" "${common[@]}" train.output_dir="$work/reference" >"$work/reference.log" 2>&1

same_weights() {  # same_weights RUN: every stage's final weights equal the reference's
  for stage in pretrain step1; do
    if ! cmp -s "$work/reference/checkpoints/$stage/model.safetensors" "$1/checkpoints/$stage/model.safetensors"; then
      echo "FAIL: $1: stage $stage ends with other weights than the uninterrupted run"
      exit 1
    fi
  done
}

resume() {  # resume RUN EXPECTED_STEP
  "$trol" train "$config" "${common[@]}" train.output_dir="$1" train.resume=auto >"$1.resume.log" 2>&1 ||
    { echo "FAIL: resuming $1"; cat "$1.resume.log"; exit 1; }
  grep -q "resuming from .*/step-$2: " "$1.resume.log" ||
    { echo "FAIL: $1 did not resume from step-$2"; cat "$1.resume.log"; exit 1; }
}

# killed FAULT EXPECTED_STEP: killed by SIGKILL at FAULT, resumed from step-EXPECTED_STEP.
killed() {
  local run="$work/kill-${1//[@:]/-}"
  set +e
  TROL_FAULT="$1" "$trol" train "$config" "${common[@]}" train.output_dir="$run" >"$run.log" 2>&1
  local rc=$?
  set -e
  if [ "$rc" -ne 137 ]; then echo "FAIL: TROL_FAULT=$1 ended with $rc, not SIGKILL"; cat "$run.log"; exit 1; fi
  resume "$run" "$2"
  same_weights "$run"
  echo "killed at $1, resumed from step-$2: same weights"
}

killed mid_step@5 4          # inside a step of the first stage
killed mid_checkpoint@6 4    # while writing the first stage's last checkpoint
killed after_step@9 8        # between steps of the second stage
killed mid_checkpoint@8 6    # while writing a periodic checkpoint of the second stage

# A damaged newest checkpoint is passed over with a warning; the one before it serves.
run="$work/damaged"
set +e
TROL_FAULT=mid_step@9 "$trol" train "$config" "${common[@]}" train.output_dir="$run" >"$run.log" 2>&1
set -e
printf 'X' | dd of="$run/checkpoints/step-8/model.safetensors" bs=1 seek=2000 conv=notrunc status=none
resume "$run" 6
grep -q "skipping checkpoint .*step-8: .*checksum" "$run.resume.log" ||
  { echo "FAIL: the damaged step-8 was not reported"; cat "$run.resume.log"; exit 1; }
same_weights "$run"
echo "damaged step-8 skipped, resumed from step-6: same weights"

# SIGTERM (as schedulers send before preemption) finishes the step, saves it and exits 0.
run="$work/sigterm"
TROL_FAULT=after_step@3:TERM "$trol" train "$config" "${common[@]}" train.output_dir="$run" >"$run.log" 2>&1 ||
  { echo "FAIL: SIGTERM did not end the run with exit 0"; cat "$run.log"; exit 1; }
grep -q "SIGTERM: stopped after step 3 of stage 'pretrain'" "$run.log" || { echo "FAIL: no stop message"; cat "$run.log"; exit 1; }
[ -f "$run/checkpoints/step-3/manifest.json" ] || { echo "FAIL: SIGTERM wrote no checkpoint step-3"; exit 1; }
[ ! -d "$run/checkpoints/step1" ] || { echo "FAIL: the run went on after SIGTERM"; exit 1; }
resume "$run" 3
same_weights "$run"
echo "SIGTERM after step 3: checkpoint written, exit 0, resumed: same weights"

# Only the newest train.keep_checkpoints resumable checkpoints stay.
kept=$(cd "$work/reference/checkpoints" && ls -d step-* | sort -t- -k2 -n | tr '\n' ' ')
[ "$kept" = "step-6 step-8 step-10 " ] || { echo "FAIL: kept checkpoints: $kept"; exit 1; }

# A checkpoint of another model or another list of stages is refused, naming what differs.
refused() {  # refused EXPECTED_MESSAGE RESUME OVERRIDES...: the run fails and says EXPECTED_MESSAGE
  local expected="$1" resume="$2"
  shift 2
  if "$trol" train "$config" "${common[@]}" train.output_dir="$work/reference" train.resume="$resume" "$@" \
      >"$work/refused.log" 2>&1; then
    echo "FAIL: resuming with $* was accepted"; exit 1
  fi
  grep -q "$expected" "$work/refused.log" || { echo "FAIL: expected '$expected'"; cat "$work/refused.log"; exit 1; }
}
refused "model.llm.hidden_size: 32 in the checkpoint, 64 now" auto model.llm.hidden_size=64
refused "written by a run with stages \[pretrain, step1\]; this run has \[step1\]" auto --stages step1
refused "runtime.seed: 0 in the checkpoint, 5 now" auto runtime.seed=5
refused "train.resume: .*nowhere: no such checkpoint folder" "$work/nowhere"
echo "a checkpoint of another model or other stages is refused, naming the difference"

# Adapter dropout draws from the generator: a resumed run must continue its stream.
"$trol" train "$lora_config" "${common[@]}" train.output_dir="$work/lora-reference" >"$work/lora-reference.log" 2>&1
set +e
TROL_FAULT=mid_step@9 "$trol" train "$lora_config" "${common[@]}" train.output_dir="$work/lora" >"$work/lora.log" 2>&1
set -e
"$trol" train "$lora_config" "${common[@]}" train.output_dir="$work/lora" train.resume=auto >"$work/lora.resume.log" 2>&1
cmp -s "$work/lora-reference/checkpoints/adapters/model.safetensors" "$work/lora/checkpoints/adapters/model.safetensors" ||
  { echo "FAIL: the resumed LoRA run ends with other weights"; exit 1; }
echo "LoRA run with adapter dropout killed at step 9 and resumed: same weights"

echo "every interrupted run resumed to the uninterrupted run's weights"
