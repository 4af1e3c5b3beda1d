// trol generate --model CHECKPOINT --prompt TEXT [--image FILE] [key.path=value ...]: a quick
// look at a trained model: the answer it gives to one prompt, with or without an image, decoded
// exactly as the evaluator decodes its answers.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "data/chat_template.h"
#include "data/conversation.h"
#include "data/image_ops.h"
#include "data/training_set.h"
#include "eval/evaluator.h"
#include "train/checkpoint.h"
#include "train/run_config.h"
#include "train/runtime.h"

namespace trol::cli {

void add_generate_command(CLI::App& app) {
  struct Args {
    std::string model;
    std::string config;
    std::string prompt;
    std::string image;
    std::vector<std::string> overrides;
    int64_t max_new_tokens = 32;
    std::string decode = "exact";
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("generate", "Answer one prompt (with an image or without) with trained weights");
  cmd->add_option("--model", args->model, "a checkpoint folder (model.safetensors and config.yaml) or a model.safetensors")
      ->required();
  cmd->add_option("--config", args->config, "run config (default: config.yaml next to the weights)");
  cmd->add_option("--prompt", args->prompt, "the user's message")->required();
  cmd->add_option("--image", args->image, "an image file the prompt is about (placed before the prompt)");
  cmd->add_option("--max-new-tokens", args->max_new_tokens, "most tokens generated")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--decode", args->decode, "exact | released (how a traversed model uses the KV cache)")
      ->capture_default_str()
      ->check(CLI::IsMember({"exact", "released"}));
  cmd->add_option("overrides", args->overrides, "key.path=value overrides of the config (e.g. data.root=DIR)");
  cmd->callback([args] {
    // The answer alone goes to stdout, so scripts can read it; log lines go to stderr.
    const auto level = spdlog::get_level();
    spdlog::set_default_logger(spdlog::stderr_color_mt("trol_generate"));
    spdlog::set_level(level);
    namespace fs = std::filesystem;
    const bool folder = fs::is_directory(args->model);
    const fs::path weights = folder ? fs::path(args->model) / "model.safetensors" : fs::path(args->model);
    if (!fs::is_regular_file(weights)) {
      throw std::runtime_error("generate: no weights at '" + weights.string() +
                               "' (give a checkpoint folder or its model.safetensors)");
    }
    const fs::path config_file = args->config.empty() ? weights.parent_path() / "config.yaml" : fs::path(args->config);
    if (!fs::is_regular_file(config_file)) {
      throw std::runtime_error("generate: no config at '" + config_file.string() +
                               "' (a trol checkpoint folder holds config.yaml; or give --config)");
    }
    const auto config = load_run_config(config_file.string(), args->overrides);
    configure_runtime(config.runtime);
    const auto& model_config = config.model;
    if (!args->image.empty() && !model_config.vision.enabled) {
      throw std::invalid_argument("generate: --image given, but this model has no vision encoder");
    }

    TrolModel model(model_config);
    load_model_weights(weights.string(), *model);
    const auto device = parse_device(config.runtime.device);
    const auto dtype = parse_dtype(config.runtime.dtype);
    model->to(device, dtype);
    const auto tokenizer = load_tokenizer(config.data);
    check_tokenizer_matches_model(tokenizer, config.data, model_config);
    const auto chat = chat_template(config.data.template_name);

    Conversation conversation;
    conversation.id = "prompt";
    torch::Tensor pixels;
    std::string text = args->prompt;
    if (!args->image.empty()) {
      conversation.images = {args->image};
      text = kImagePlaceholder + "\n" + text;
      const auto& data = config.data;
      pixels = image_to_tensor(load_rgb(args->image), model_config.vision.image_size, data.image_mean, data.image_std)
                   .unsqueeze(0)
                   .to(device, dtype);
    }
    conversation.turns = {{"human", text}};
    const auto prompt = encode_prompt(conversation, tokenizer, chat, model_config.vision.tokens_per_image()).input_ids;
    const auto answers = generate_answers(model, {prompt}, pixels, tokenizer, chat, args->max_new_tokens,
                                          parse_decode_mode(args->decode));
    std::cout << answers.front() << std::endl;
  });
}

}  // namespace trol::cli
