#!/usr/bin/env bash
# gpu_check.sh: builds trol and its tests against a pip torch and the dependency bundle of
# scripts/gpu_bundle.sh, runs the test suite, then the checks that exercise the device: the
# first training step against the Python reference, a tiny two-stage training run stopped by
# SIGTERM and resumed, trol eval, and (CUDA only) trol bench of a TroL-3.8B slice in bf16.
# It prints one table (check, result, seconds, key number), writes it to OUT/summary.txt with
# every log under OUT/logs/, and exits non-zero if any check failed.
#
#   scripts/gpu_check.sh [--bundle DIR] [--python PY] [--out DIR] [--device cuda|cpu] [--time-scale N]
#
#   --bundle DIR    the prefix scripts/gpu_bundle.sh built (default build-gpu-bundle)
#   --python PY     a Python whose torch is the LibTorch to build against (default python3); the
#                   reference checks also need numpy in it
#   --out DIR       summary, logs, JUnit file, bench JSON (default $OUT, else build-gpu-check/out)
#   --device D      where the device checks run (default cuda if PY's torch sees a GPU, else cpu)
#   --time-scale N  multiplies every step's time limit and the total budget (default 1: 8
#                   minutes on a 16-core GPU machine; a 2-core dry run needs ~10)
#
# From the repository root. Builds into build-gpu/ (runs and data in build-gpu/gpu_check/).
# On the device machine (the working tree travels, the ignored bundle has to be carried):
#   run(command="scripts/gpu_check.sh", carry=["build-gpu-bundle"], timeout_s=600)
# Dry run in a fresh Debian 12 chroot: scripts/experiments/gpu_check_dry_run.sh.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

bundle=build-gpu-bundle
py=python3
out=${OUT:-build-gpu-check/out}
device=
scale=1
while [ $# -gt 0 ]; do
  case "$1" in
    --bundle) bundle=$2; shift 2 ;;
    --python) py=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --device) device=$2; shift 2 ;;
    --time-scale) scale=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "gpu_check.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -f "$bundle/MANIFEST.txt" ] || { echo "gpu_check.sh: no bundle at $bundle (scripts/gpu_bundle.sh builds it)" >&2; exit 2; }
bundle=$(cd "$bundle" && pwd)
py=$(command -v "$py") || { echo "gpu_check.sh: no Python $py" >&2; exit 2; }
mkdir -p "$out/logs"
out=$(cd "$out" && pwd)
logs=$out/logs
build=$root/build-gpu
work=$build/gpu_check
trol=$build/trol

torch_root=$("$py" -c 'import os, torch; print(os.path.dirname(torch.__file__))' 2>/dev/null) ||
  { echo "gpu_check.sh: $py cannot import torch" >&2; exit 2; }
if [ -z "$device" ]; then
  [ "$("$py" -c 'import torch; print(torch.cuda.is_available())' 2>/dev/null)" = True ] && device=cuda || device=cpu
fi
has_numpy=no
"$py" -c 'import numpy' 2>/dev/null && has_numpy=yes
# A CUDA torch's CMake config needs nvcc even for a CPU-only check.
if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then export PATH=/usr/local/cuda/bin:$PATH; fi
# The GPU machine has no pkg-config of its own: the bundle carries one. Its .pc files are relative.
export PKG_CONFIG_PATH=$bundle/lib/pkgconfig:$bundle/share/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
pkg_config=$(command -v pkg-config || echo "$bundle/bin/pkg-config")
# Only CUDA sources use it (trol has none), but without it Torch's config probes for GPUs.
export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}

# --- bookkeeping -----------------------------------------------------------------------------
budget=$((480 * scale))  # the whole script, seconds
t_start=$SECONDS
rows=()
failed=0
row() {  # row NAME RESULT SECONDS KEY
  rows+=("$(printf '%-24s %-16s %6s  %s' "$1" "$2" "$3" "$4")")
  case "$2" in fail*) failed=1 ;; esac
  printf '%-24s %-16s %6s  %s\n' "$1" "$2" "$3" "$4"
}
rc=0 secs=0 log=
# step NAME LIMIT COMMAND...: runs COMMAND (a command or a function of this script) under
# timeout, at most LIMIT x scale seconds and never past the budget; output in logs/NAME.log.
# Sets rc (124: timed out, 125: no time left), secs and log.
step() {
  local name=$1 limit=$(($2 * scale)) left t0
  shift 2
  log=$logs/$name.log
  left=$((budget - (SECONDS - t_start)))
  if [ "$left" -lt 10 ]; then rc=125 secs=0; echo "no time left in the budget" >"$log"; return; fi
  [ "$limit" -gt "$left" ] && limit=$left
  echo "== $name (limit ${limit}s): $*" >"$log"
  t0=$SECONDS
  # A new bash runs it (timeout needs a program): it gets this script's functions and the
  # variables they use.
  timeout -k 10 "$limit" bash -c "$(declare -p trol config common work out build 2>/dev/null); $(declare -f); \"\$@\"" _ "$@" \
    >>"$log" 2>&1
  rc=$?
  secs=$((SECONDS - t0))
  [ "$rc" = 124 ] && echo "== timed out after ${limit}s" >>"$log"
}
# verdict NAME KEY [PATTERN...]: a row for the last step; it passed if it exited 0 and its
# log matches every PATTERN (extended regexes, one line each).
verdict() {
  local name=$1 key=$2 pattern
  shift 2
  if [ "$rc" = 125 ]; then row "$name" "skipped (budget)" 0 ""; return; fi
  if [ "$rc" = 124 ]; then row "$name" fail "$secs" "timed out; $key"; return; fi
  if [ "$rc" != 0 ]; then row "$name" fail "$secs" "exit $rc (logs/$name.log); $key"; return; fi
  for pattern in "$@"; do
    grep -qE "$pattern" "$log" || { row "$name" fail "$secs" "no '$pattern' in logs/$name.log"; return; }
  done
  row "$name" pass "$secs" "$key"
}
first() { grep -oE "$1" "$log" | head -n 1; }  # first PATTERN: its first match in the last log

# --- environment -----------------------------------------------------------------------------
{
  echo "device: $device; python: $py (numpy: $has_numpy); torch root: $torch_root; bundle: $bundle"
  "$py" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())'
  command -v nvidia-smi >/dev/null && nvidia-smi
  g++ --version | head -n 1; nvcc --version 2>&1 | tail -n 2; cmake --version | head -n 1
  echo "ninja $(ninja --version)"; ldd --version | head -n 1; echo "pkg-config: $pkg_config"; nproc
  cat "$bundle/MANIFEST.txt"
} >"$logs/environment.log" 2>&1
gpu=cpu
[ "$device" = cuda ] && gpu=$("$py" -c 'import torch; print(torch.cuda.get_device_name(0))' 2>/dev/null)
torch_version=$("$py" -c 'import torch; print(torch.__version__)' 2>/dev/null)
echo "gpu_check.sh: device $device ($gpu), torch $torch_version, numpy: $has_numpy; logs in $out"
printf '%-24s %-16s %6s  %s\n' check result seconds "key number"

# --- build -----------------------------------------------------------------------------------
step configure 90 cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  "-DCMAKE_PREFIX_PATH=$torch_root;$bundle" -DPKG_CONFIG_EXECUTABLE="$pkg_config" \
  -DTROL_BUILD_TESTS=ON -DTROL_REFERENCE_PYTHON="$py"
verdict configure "$(first 'LibTorch [^ ]+'), $(first 'OpenCV [0-9.]+')" "trol: OpenCV .* from $bundle"
built=no
if [ "$rc" = 0 ]; then
  step build 240 cmake --build "$build" --parallel "$(nproc)"
  verdict build "$(grep -oE '^\[[0-9]+/[0-9]+\]' "$log" | tail -n 1 | tr -d '[]' | cut -d/ -f2) build steps"
  [ "$rc" = 0 ] && [ -x "$trol" ] && built=yes
else
  row build "skipped" 0 "configure failed"
fi

# --- test suite ------------------------------------------------------------------------------
# What this machine lacks is left out of the suite (and said so in the table) rather than
# failing deep in a log: without numpy the Python reference's safetensors reader cannot run,
# and four tokenizer tests run Debian's /usr/bin/spm_encode and /usr/bin/spm_train
# (sentencepiece-tools), which the GPU machine does not have.
numpy_tests='^reference\.|^cli\.hf_import$|^cli\.distributed_train$'
spm_tests='spm_encode command-line tool|special tokens are single ids|text around special tokens encodes|pad falls back to eos'
has_spm_tools=no
[ -x /usr/bin/spm_encode ] && [ -x /usr/bin/spm_train ] && has_spm_tools=yes
run_ctest() {
  cd "$build" && ctest --output-on-failure --output-junit "$out/ctest-junit.xml" --parallel "$(nproc)" --timeout 200 "$@"
}
if [ "$built" = yes ]; then
  left_out=()
  [ "$has_numpy" = no ] && left_out+=("$numpy_tests")
  [ "$has_spm_tools" = no ] && left_out+=("$spm_tests")
  exclude=()
  [ ${#left_out[@]} -gt 0 ] && exclude=(-E "$(IFS='|'; echo "${left_out[*]}")")
  step ctest 150 run_ctest "${exclude[@]}"
  total=$(first 'tests failed out of [0-9]+' | grep -oE '[0-9]+$')
  bad=$(first '[0-9]+ tests failed' | grep -oE '^[0-9]+')
  skipped=$(grep -cE '^[[:space:]]+[0-9]+ - .* \(Skipped\)$' "$log")
  verdict ctest "${total:-?} tests, ${bad:-?} failed, $skipped skipped; JUnit ctest-junit.xml"
  [ "$has_numpy" = no ] && row "ctest: numpy tests" "skipped" 0 "$py has no numpy: reference.*, cli.hf_import, cli.distributed_train"
  [ "$has_spm_tools" = no ] && row "ctest: spm tool tests" "skipped" 0 "no /usr/bin/spm_encode, spm_train: 4 tokenizer tests"
else
  row ctest skipped 0 "no build"
fi

# --- device checks ---------------------------------------------------------------------------
common=(data.root="$work/shapes" train.save_every=2 train.keep_checkpoints=3 eval.enabled=false runtime.device="$device")
config=tests/configs/train_tiny.yaml
train_sigterm() {  # stopped by a real SIGTERM after step 3 (train/fault_injection.h): saves step-3, exits 0
  TROL_FAULT=after_step@3:TERM "$trol" train "$config" "${common[@]}" train.output_dir="$work/sigterm"
}
bench() {  # bench WHAT ARGS...: the TroL-3.8B slice (bf16 on CUDA), result also in OUT/bench_WHAT.json
  local what=$1; shift
  "$trol" bench configs/bench/trol3.8b_slice.yaml --what "$what" --json "$out/bench_$what.json" "$@"
}
if [ "$built" = yes ]; then
  if [ "$has_numpy" = yes ]; then
    step reference_step 60 tests/reference_check.sh "$trol" "$py" . configs/tiny.yaml runtime.device="$device"
    verdict reference_step "loss $(first 'loss: trol [0-9.]+' | grep -oE '[0-9.]+$'), worst gradient $(first 'max difference [0-9.e+-]+' | grep -oE '[^ ]+$')" \
      "matches the reference"
  else
    row reference_step skipped 0 "$py has no numpy"
  fi

  rm -rf "$work"
  mkdir -p "$work"
  step data_make_shapes 60 "$trol" data make-shapes --out "$work/shapes" --train-images 40 --eval-images 20 --force
  verdict data_make_shapes "instruct_basic $(first 'instruct_basic\.jsonl +[0-9]+ conversations' | grep -oE '[0-9]+ conversations')" \
    "instruct_basic\.jsonl +80 conversations"

  step train_uninterrupted 60 "$trol" train "$config" "${common[@]}" train.output_dir="$work/reference"
  verdict train_uninterrupted "$(first "stage 'step1' done in [0-9]+s, loss [0-9.]+" | sed 's/.*, //')" "stage 'step1' done"

  step train_sigterm 60 train_sigterm
  verdict train_sigterm "checkpoint step-3 written" "SIGTERM: stopped after step 3 of stage 'pretrain'"

  step train_resume 60 "$trol" train "$config" "${common[@]}" train.output_dir="$work/sigterm" train.resume=auto
  same=differ
  cmp -s "$work/reference/checkpoints/step1/model.safetensors" "$work/sigterm/checkpoints/step1/model.safetensors" && same=identical
  verdict train_resume "$(first "stage 'step1' done in [0-9]+s, loss [0-9.]+" | sed 's/.*, //'); weights $same to the uninterrupted run's" \
    "resuming from .*/step-3: " "stage 'step1' done"

  step eval 60 "$trol" eval "$config" --model "$work/sigterm/checkpoints/step1" --out "$work/eval" \
    data.root="$work/shapes" runtime.device="$device"
  verdict eval "$(first 'evaluation: [0-9]+ benchmark\(s\), [0-9]+ items in [0-9]+s' | sed 's/evaluation: //')" \
    "evaluation: [0-9]+ benchmark\(s\), [0-9]+ items"

  if [ "$device" = cuda ]; then
    step bench_train_bf16 90 bench train --warmup 2 --iterations 5
    verdict bench_train_bf16 "$(first 'step median [0-9.]+ ms'), $(first '[0-9]+ tokens/s'), $(first 'MFU [0-9.]+')" "MFU [0-9.]+"
    step bench_decode 90 bench decode --warmup 1 --iterations 3
    verdict bench_decode "$(first '[0-9.]+ ms per token near token 16'), cache $(first '[0-9.]+x faster')" "ms per token"
  else
    row bench_train_bf16 "skipped (cpu)" 0 ""
    row bench_decode "skipped (cpu)" 0 ""
  fi
else
  for name in reference_step data_make_shapes train_uninterrupted train_sigterm train_resume eval bench_train_bf16 bench_decode; do
    row "$name" skipped 0 "no build"
  done
fi

# --- summary ---------------------------------------------------------------------------------
{
  echo "gpu_check.sh $(date -u +%Y-%m-%dT%H:%M:%SZ): device $device ($gpu), torch $torch_version, numpy: $has_numpy, $((SECONDS - t_start)) s"
  printf '%-24s %-16s %6s  %s\n' check result seconds "key number"
  printf '%s\n' "${rows[@]}"
} >"$out/summary.txt"
echo
cat "$out/summary.txt"
exit "$failed"
