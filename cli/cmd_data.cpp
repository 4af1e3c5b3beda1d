// trol data make-shapes --out DIR: write the built-in synthetic visual-instruction dataset,
// and the SentencePiece tokenizer trained on its text (DIR/tokenizer.model).
#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "data/shapes_dataset.h"

namespace trol::cli {

void add_data_command(CLI::App& app) {
  auto* data = app.add_subcommand("data", "Make datasets");
  data->require_subcommand(1);

  auto options = std::make_shared<ShapesDatasetOptions>();
  auto tokenizer_vocab = std::make_shared<int64_t>(512);
  auto template_name = std::make_shared<std::string>("tiny");
  auto* shapes = data->add_subcommand(
      "make-shapes", "Render the built-in shapes dataset: LLaVA-format training conversations and POPE, MMBench and "
                     "VQA-style evaluation splits, identical for the same options");
  shapes->add_option("--out", options->out_dir, "output folder (created; must be empty unless --force)")->required();
  shapes->add_option("--seed", options->seed, "random seed")->capture_default_str();
  shapes->add_option("--train-images", options->train_images, "training images")->capture_default_str();
  shapes->add_option("--eval-images", options->eval_images, "evaluation images")->capture_default_str();
  shapes->add_option("--image-size", options->image_size, "pixels per side")->capture_default_str();
  shapes->add_option("--basic-per-image", options->basic_per_image, "instruct_basic conversations per training image")
      ->capture_default_str();
  shapes->add_option("--adversarial-per-image", options->adversarial_per_image,
                     "instruct_adversarial conversations per training image")
      ->capture_default_str();
  shapes->add_flag("--force", options->overwrite, "replace an earlier shapes dataset in the output folder");
  shapes->add_option("--tokenizer-vocab", *tokenizer_vocab, "SentencePiece vocabulary of DIR/tokenizer.model")
      ->capture_default_str();
  shapes->add_option("--template", *template_name, "chat template whose special tokens the tokenizer keeps whole")
      ->capture_default_str();
  shapes->callback([options, tokenizer_vocab, template_name] {
    make_shapes_dataset_and_tokenizer(*options, *tokenizer_vocab, *template_name);
  });
}

}  // namespace trol::cli
