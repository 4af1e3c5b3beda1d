// `trol forward`'s work as a call: one forward pass on given token ids (and images) of a trol
// checkpoint or a Hugging Face backbone folder, its logits and per-layer mixing ratios written
// to a safetensors file: the tool to check a port against the original implementation. In
// train/ because it loads the model folder as training and `trol import` write it.
#pragma once

#include <string>
#include <vector>

#include "data/model_input_files.h"

namespace trol {

struct ParityForward {
  std::string model;      // trol checkpoint folder, or a Hugging Face backbone folder (train/model_import.h)
  std::string input_ids;  // JSON [[token ids], ...] (data/model_input_files.h)
  std::string out;        // safetensors file to write: logits, attention_mask, gate_ratios (traversed models)
  ImageFiles images;      // the images of the prompts' image tokens, in one of three forms
  std::vector<std::string> overrides;  // key.path=value settings of the model's config
};

// Logits and ratios are written in float32. Throws naming the ids file when an id lies outside
// the embedding table.
void forward_to_file(const ParityForward& request);

}  // namespace trol
