// `trol export`'s whole job as a call: a trol checkpoint folder (config.yaml +
// model.safetensors) written as a self-contained trol folder, a Hugging Face folder
// (config.json from trol/hf_config.h, model.safetensors under the same names, which
// `trol import --llm DIR` reads back exactly), or the TroL authors' released layout of the
// model's family (trol/released_layout.h). LoRA adapters are folded in on request and
// quantized weights written dequantized (trol/merged_weights.h). In train/ because it reads
// the run config and the checkpoint's weights as training wrote them.
#pragma once

#include <string>

namespace trol {

struct CheckpointExport {
  std::string checkpoint;        // folder holding config.yaml and model.safetensors
  std::string out;               // folder to write (not the checkpoint's)
  std::string format = "trol";   // trol | hf | released
  std::string dtype;             // "", float32, bfloat16, float16: "" is float32 for hf, as stored for released
  bool merge_lora = false;       // fold plain LoRA adapters into their base weights
};

// Writes the folder and logs what it wrote. Throws std::runtime_error naming the checkpoint
// and the setting for what the chosen format cannot hold (adapters without merge_lora, Partial
// LoRA outside the released layout, merge_lora with the released layout).
void export_checkpoint(const CheckpointExport& request);

}  // namespace trol
