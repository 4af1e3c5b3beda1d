#!/usr/bin/env bash
# Partial LoRA from the config file to the end of a run: trains (the adapters learn from the
# image tokens), evaluates, and refuses --merge-lora with the reason.
#   partial_lora.sh TROL CONFIG DATA_ROOT WORK_DIR
set -euo pipefail
trol="$1" config="$2" data="$3" work="$4"
rm -rf "$work"
mkdir -p "$work"
"$trol" train "$config" data.root="$data" train.output_dir="$work/run" model.lora.partial=true \
  >"$work/train.log" 2>&1 || { cat "$work/train.log"; exit 1; }
grep -q '"pope_random"' "$work/run/results.json" || { echo "no evaluation results"; exit 1; }
if "$trol" export --merge-lora --model "$work/run/checkpoints/adapters" --out "$work/merged" >"$work/export.log" 2>&1; then
  echo "export --merge-lora folded Partial LoRA adapters"; exit 1
fi
grep -q "Partial LoRA adapters .*cannot be folded" "$work/export.log" || { cat "$work/export.log"; exit 1; }
echo "a Partial LoRA run trained, evaluated, and was not merged"
