// `trol generate`'s work as a call: a trained model's answer to one prompt (with an image or
// without), decoded exactly as the evaluator decodes its answers; or, for decoding parity with
// another implementation, the new token ids of prompts given as ids. In train/ because it
// loads the run config and the checkpoint as training wrote them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/model_input_files.h"
#include "trol/generate.h"

namespace trol {

struct PromptGeneration {
  std::string model;      // checkpoint folder or its model.safetensors; with input_ids also a Hugging Face folder
  std::string config;     // run config; "" for the config.yaml next to the weights
  std::string prompt;     // the user's message, through the config's tokenizer and chat template
  std::string input_ids;  // instead of prompt: JSON token ids [[ids], ...] (data/model_input_files.h)
  ImageFiles images;      // with prompt: at most one image file, placed before the prompt
  std::vector<int64_t> stop_ids;       // input_ids: end a row at these ids
  std::vector<std::string> overrides;  // key.path=value settings of the config
  GenerateOptions options;             // search strategy and limits, validated by the caller
};

// Prints to stdout: the answer (one line per returned beam, best first, scores logged), or
// with input_ids the new ids as JSON ([[ids], ...]; with num_return_sequences N,
// [[[ids], ...N], ...]). Throws naming the file for missing weights or config.
void generate_and_print(const PromptGeneration& request);

}  // namespace trol
