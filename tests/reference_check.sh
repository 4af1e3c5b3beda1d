#!/usr/bin/env bash
# trol's first training step against the independent Python reference:
#   reference_check.sh TROL PYTHON SOURCE_DIR CONFIG [key.path=value ...]
# exports the step with `trol bench --export` and checks it with scripts/reference/check_step.py.
set -euo pipefail
trol="$1" python="$2" source="$3" config="$4"
shift 4
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$trol" bench "$config" --what train --warmup 0 --iterations 1 --seq-len 48 --peak-size 0 --export "$dir/step" "$@"
"$python" "$source/scripts/reference/check_step.py" "$dir/step"
