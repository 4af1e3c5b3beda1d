#!/usr/bin/env bash
# A LoRA run end to end: train (the second stage trains only the adapters), fold the adapters
# into the weights with trol export --merge-lora, and check that the merged plain model
# evaluates as the adapted one did and holds no adapter tensors.
#   lora_export.sh TROL PYTHON CONFIG DATA_ROOT WORK_DIR [OVERRIDE...]
# (e.g. model.quantize=nf4: QLoRA, the base weights stored in 4 bits)
set -euo pipefail
trol="$1" python="$2" config="$3" data="$4" work="$5"
shift 5
rm -rf "$work"
"$trol" train "$config" data.root="$data" train.output_dir="$work/run" "$@" >"$work.train.log" 2>&1 ||
  { cat "$work.train.log"; exit 1; }
"$trol" export --merge-lora --model "$work/run/checkpoints/adapters" --out "$work/merged"
"$trol" eval "$work/merged/config.yaml" --model "$work/merged" data.root="$data" --out "$work/merged_eval" \
  >"$work.eval.log" 2>&1 || { cat "$work.eval.log"; exit 1; }
"$python" - "$work" <<'PY'
import json, sys
work = sys.argv[1]
trained = json.load(open(f"{work}/run/results.json"))["benchmarks"]
merged = json.load(open(f"{work}/merged_eval/results.json"))["benchmarks"]
if trained != merged:
    sys.exit(f"metrics differ:\n adapted: {trained}\n merged:  {merged}")

def header(path):
    with open(path, "rb") as f:
        size = int.from_bytes(f.read(8), "little")
        return {k: v for k, v in json.loads(f.read(size)).items() if k != "__metadata__"}, 8 + size

def names(path):
    return list(header(path)[0])

# The adapters were trained: some B is no longer zero (else merging would prove nothing).
import struct
entries, start = header(f"{work}/run/checkpoints/adapters/model.safetensors")
raw = open(f"{work}/run/checkpoints/adapters/model.safetensors", "rb").read()
largest = 0.0
for name, entry in entries.items():
    if name.endswith(".lora_B") and entry["dtype"] == "F32":
        begin, end = entry["data_offsets"]
        values = struct.unpack(f"<{(end - begin) // 4}f", raw[start + begin:start + end])
        largest = max(largest, max(abs(v) for v in values))
if largest < 1e-4:
    sys.exit(f"the adapters did not train (largest |B| {largest})")

adapted = names(f"{work}/run/checkpoints/adapters/model.safetensors")
plain = names(f"{work}/merged/model.safetensors")
adapters = [n for n in adapted if n.endswith((".lora_A", ".lora_B"))]
if len(adapters) != 2 * 2 * 4:  # 2 layers x (qkv_proj, o_proj, gate_up_proj, down_proj) x (A, B)
    sys.exit(f"expected 16 adapter tensors in the checkpoint, found {len(adapters)}")
codes = [n for n in adapted if ".weight_nf4_" in n or ".weight_int8" in n]  # quantized bases (QLoRA)
if any(n.endswith((".lora_A", ".lora_B")) for n in plain) or sorted(plain) != sorted(set(adapted) - set(adapters) - set(codes)):
    sys.exit("the merged model's tensors are not the adapted model's minus its adapters and quantized codes")
print("the merged model evaluates as the adapted one did")
PY
