#include "cli/model_inputs.h"

namespace trol::cli {

void add_image_options(CLI::App* command, ImageFiles& args) {
  auto* pixels = command
                     ->add_option("--pixel-values", args.pixel_values,
                                  "safetensors file whose pixel_values [images, 3, size, size] fill the image tokens")
                     ->check(CLI::ExistingFile);
  auto* images = command->add_option("--image", args.images, "image files for the image tokens, in order (resized, normalised)")
                     ->check(CLI::ExistingFile)
                     ->excludes(pixels);
  command
      ->add_option("--image-features", args.image_features,
                   "safetensors file with one tensor: the vision tower's output (InternViT: last hidden state with the "
                   "class token [tiles, 1 + patches, C]; CLIP: the selected layer's patch features [images, patches, C])")
      ->check(CLI::ExistingFile)
      ->excludes(pixels)
      ->excludes(images);
}

}  // namespace trol::cli
