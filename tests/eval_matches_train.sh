#!/usr/bin/env bash
# trol eval of a run's last checkpoint must give the metrics that trol train wrote for it:
#   eval_matches_train.sh TROL PYTHON CONFIG DATA_ROOT RUN_DIR
set -euo pipefail
trol="$1" python="$2" config="$3" data="$4" run="$5"
"$trol" eval "$config" --model "$run/checkpoints/step1" data.root="$data" --out "$run/eval"
"$python" - "$run/results.json" "$run/eval/results.json" <<'PY'
import json, sys
trained, evaluated = (json.load(open(p))["benchmarks"] for p in sys.argv[1:3])
if trained != evaluated:
    sys.exit(f"metrics differ:\n trol train: {trained}\n trol eval:  {evaluated}")
print("trol eval gives the same metrics as trol train")
PY
