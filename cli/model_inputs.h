// What `trol forward` and `trol generate --input-ids` read: a model folder (trol checkpoint or
// Hugging Face backbone), token ids from JSON, and the images in one of three forms (pixel values
// as another implementation preprocessed them, image files, or the vision tower's output).
#pragma once

#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <string>
#include <utility>
#include <vector>

#include "train/run_config.h"
#include "trol/model.h"

namespace trol::cli {

struct LoadedModel {
  RunConfig config;
  TrolModel model{nullptr};
};

// A trol checkpoint folder (config.yaml + model.safetensors), or a Hugging Face backbone folder
// imported on the fly with fresh gates; `overrides` are key.path=value settings of the config.
LoadedModel load_model_folder(const std::string& dir, const std::vector<std::string>& overrides);

// `[[ids...], ...]` (rows may differ in length) or one row `[ids...]`: the ids right-padded
// with 0 into [rows, longest], and the mask of real tokens. Throws naming the file.
std::pair<torch::Tensor, torch::Tensor> read_input_ids(const std::string& path);

// The rows of read_input_ids, each as long as it was written.
std::vector<std::vector<int64_t>> read_token_rows(const std::string& path);

// Throws naming `path` when an id lies outside [0, vocab).
void check_token_ids(const std::vector<std::vector<int64_t>>& rows, int64_t vocab, const std::string& path);

// --pixel-values FILE | --image FILE... | --image-features FILE, mutually exclusive.
struct ImageArgs {
  std::string pixel_values;
  std::vector<std::string> images;
  std::string image_features;
};
void add_image_options(CLI::App* command, ImageArgs& args);

struct ImageInputs {
  torch::Tensor pixel_values;  // [images, channels, size, size], or undefined
  torch::Tensor tower_output;  // [images, tokens, vision hidden], or undefined
};

// The images the options name, in float32 on the CPU; the tower output's shape is checked
// against `model`'s vision encoder (the error names the file, the expected and the given shape).
ImageInputs read_images(const ImageArgs& args, const RunConfig& config, TrolModel& model);

}  // namespace trol::cli
