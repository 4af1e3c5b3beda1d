// trol data make-shapes --out DIR: write the built-in synthetic visual-instruction dataset,
// and the SentencePiece tokenizer trained on its text (DIR/tokenizer.model).
#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "data/chat_template.h"
#include "data/shapes_dataset.h"
#include "data/tokenizer.h"

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
    const auto summary = make_shapes_dataset(*options);
    spdlog::info("shapes dataset in {} ({} px images, seed {}), {:.1f} s:", options->out_dir, options->image_size,
                 options->seed, summary.seconds);
    for (const auto& file : summary.files) {
      std::string kinds;
      for (const auto& [kind, n] : file.kinds) kinds += fmt::format(" {}={}", kind, n);
      spdlog::info("  {:<28} {:>7} {:<13}{}", file.path, file.records, file.unit, kinds);
    }
    // The image token first, so it gets the first id after <unk> <s> </s> <pad>: id 4.
    const auto chat = chat_template(*template_name);
    std::vector<std::string> symbols{chat.image_token()};
    for (const auto& marker : chat.markers) {
      if (marker != chat.bos && marker != chat.eos && marker != chat.image_token()) symbols.push_back(marker);
    }
    const auto prefix = options->out_dir + "/tokenizer";
    train_sentencepiece(options->out_dir + "/corpus.txt", prefix, *tokenizer_vocab, symbols, options->seed);
    const auto tokenizer = Tokenizer::load(prefix + ".model", chat.special_tokens());
    spdlog::info("  {:<28} {:>7} tokens       image token '{}' = id {}", "tokenizer.model", tokenizer.vocab_size(),
                 chat.image_token(), tokenizer.token_id(chat.image_token()));
  });
}

}  // namespace trol::cli
