// A model's tensors as a plain model holds them: every LoRA-adapted or quantized linear as one
// merged, dequantized weight (W + alpha/r B A), its adapters and quantized codes left out. What
// `trol export --merge-lora` writes, so Hugging Face loaders and trol read the result without
// knowing about LoRA or quantization.
#pragma once

#include <cstdint>

#include "trol/model.h"
#include "trol/safetensors.h"

namespace trol {

struct MergedTensors {
  NamedTensors tensors;  // every parameter and buffer, in the model's order, merged where adapted or quantized
  int64_t adapters = 0;  // LoRA adapters folded into their base weight
  int64_t merged = 0;    // linears written as a merged weight (adapted or quantized)
};

// Partial LoRA (model.lora.partial) cannot be folded: the caller refuses it before.
MergedTensors merged_model_tensors(TrolModel& model);

}  // namespace trol
