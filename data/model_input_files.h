// What `trol forward` and `trol generate --input-ids` read besides the model, for parity runs
// against another implementation: token ids from JSON, and the images in one of three forms
// (pixel values as the other implementation preprocessed them, image files, or the vision
// tower's output). Here in data/, beside the image pipeline that turns image files into tiles.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "data/data_config.h"
#include "trol/model.h"
#include "trol/model_config.h"

namespace trol {

// `[[ids...], ...]` (rows may differ in length) or one row `[ids...]`: the ids right-padded
// with 0 into [rows, longest], and the mask of real tokens. Throws naming the file.
std::pair<torch::Tensor, torch::Tensor> read_input_ids(const std::string& path);

// The rows of read_input_ids, each as long as it was written.
std::vector<std::vector<int64_t>> read_token_rows(const std::string& path);

// Throws naming `path` when an id lies outside [0, vocab).
void check_token_ids(const std::vector<std::vector<int64_t>>& rows, int64_t vocab, const std::string& path);

// The image files of a parity run; at most one of the three is given.
struct ImageFiles {
  std::string pixel_values;         // safetensors file whose pixel_values [images, 3, size, size] fill the image tokens
  std::vector<std::string> images;  // image files, resized and normalised as training does
  std::string image_features;       // safetensors file with one tensor: the vision tower's output
};

struct ImageInputs {
  torch::Tensor pixel_values;  // [images, channels, size, size], or undefined
  torch::Tensor tower_output;  // [images, tokens, vision hidden], or undefined
};

// The images `files` names, in float32 on the CPU; the tower output's shape is checked
// against `model`'s vision encoder (the error names the file, the expected and the given shape).
ImageInputs read_images(const ImageFiles& files, const ModelConfig& model_config, const DataConfig& data,
                        TrolModel& model);

}  // namespace trol
