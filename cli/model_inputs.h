// The image options of `trol forward` and `trol generate --input-ids`; what they name is read
// by data/model_input_files.h, the model folder by train/model_import.h (load_model_folder).
#pragma once

#include <CLI/CLI.hpp>

#include "data/model_input_files.h"

namespace trol::cli {

// --pixel-values FILE | --image FILE... | --image-features FILE, mutually exclusive.
void add_image_options(CLI::App* command, ImageFiles& args);

}  // namespace trol::cli
