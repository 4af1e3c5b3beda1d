// trol generate --model CHECKPOINT --prompt TEXT [--image FILE] [generation flags] [key.path=value ...]:
// a quick look at a trained model: the answer it gives to one prompt, with or without an image,
// decoded exactly as the evaluator decodes its answers (greedy by default; --num-beams N for beam
// search, --sample with --temperature/--top-k/--top-p/--seed for sampling).
//
// trol generate --model DIR --input-ids FILE.json [--pixel-values FILE | --image FILE... |
//               --image-features FILE] [--stop-id ID ...] [generation flags]:
// decoding parity with another implementation: the prompts are token ids (image positions as the
// image token id, as for trol forward), no tokenizer or chat template is involved, and the new
// ids of each prompt are printed as JSON, [[ids...], ...], so a port's decoding can be compared
// token for token. DIR may also be a Hugging Face backbone folder (imported with fresh gates).
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/model_inputs.h"
#include "data/chat_template.h"
#include "data/conversation.h"
#include "data/image_ops.h"
#include "data/training_set.h"
#include "eval/evaluator.h"
#include "train/checkpoint.h"
#include "train/model_import.h"
#include "train/run_config.h"
#include "train/runtime.h"

namespace trol::cli {

namespace {

struct GenerateArgs {
  std::string model;
  std::string config;
  std::string prompt;
  std::string input_ids;
  ImageFiles images;
  std::vector<int64_t> stop_ids;
  std::vector<std::string> overrides;
  int64_t max_new_tokens = 32;
  std::string decode = "exact";
  int64_t num_beams = 1;
  int64_t num_return_sequences = 1;
  double length_penalty = 1.0;
  bool sample = false;
  double temperature = 1.0;
  int64_t top_k = 0;
  double top_p = 1.0;
  double repetition_penalty = 1.0;
  uint64_t seed = 0;
  std::vector<std::string> stop;
};

// --input-ids: the new ids of every prompt as JSON on stdout ([[ids], ...]; with
// --num-return-sequences N, [[[ids], ...N], ...]).
void generate_from_ids(const RunConfig& config, TrolModel& model, const GenerateArgs& args, GenerateOptions options) {
  const auto prompts = read_token_rows(args.input_ids);
  check_token_ids(prompts, config.model.llm.embedding_rows(), args.input_ids);
  const auto device = parse_device(config.runtime.device);
  const auto dtype = parse_dtype(config.runtime.dtype);
  model->to(device, dtype);
  const auto images = read_images(args.images, config.model, config.data, model);
  options.stop_ids = args.stop_ids;
  options.image_tower_output = images.tower_output;
  // The pad fills the left padding of shorter prompts; it must not read as an image position.
  options.pad_id = config.model.resolved_image_token_id() == 0 ? 1 : 0;
  const auto generated = generate(model, prompts, images.pixel_values, options);
  nlohmann::json out = nlohmann::json::array();
  for (const auto& sequences : generated) {
    if (options.num_return_sequences == 1) {
      out.push_back(sequences.front().ids);
      continue;
    }
    nlohmann::json row = nlohmann::json::array();
    for (const auto& sequence : sequences) row.push_back(sequence.ids);
    out.push_back(row);
  }
  std::cout << out.dump() << std::endl;
}

}  // namespace

void add_generate_command(CLI::App& app) {
  auto args = std::make_shared<GenerateArgs>();
  auto* cmd = app.add_subcommand("generate", "Answer one prompt (with an image or without) with trained weights");
  cmd->add_option("--model", args->model, "a checkpoint folder (model.safetensors and config.yaml) or a model.safetensors")
      ->required();
  cmd->add_option("--config", args->config, "run config (default: config.yaml next to the weights)");
  auto* prompt = cmd->add_option("--prompt", args->prompt, "the user's message");
  auto* input_ids = cmd->add_option("--input-ids", args->input_ids,
                                    "instead of --prompt: JSON token ids [[ids], ...]; prints the new ids as JSON")
                        ->check(CLI::ExistingFile)
                        ->excludes(prompt);
  add_image_options(cmd, args->images);  // --prompt: one --image, placed before the prompt
  cmd->add_option("--stop-id", args->stop_ids, "--input-ids: end a row at this token id (repeatable; default none)")
      ->needs(input_ids);
  cmd->add_option("--max-new-tokens", args->max_new_tokens, "most tokens generated")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--decode", args->decode, "exact | released (how a traversed model uses the KV cache)")
      ->capture_default_str()
      ->check(CLI::IsMember({"exact", "released"}));
  cmd->add_option("--num-beams", args->num_beams, "beam search with this many beams (1: greedy)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--num-return-sequences", args->num_return_sequences,
                  "beam search: print this many best answers, one per line, best first")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--length-penalty", args->length_penalty,
                  "beam search: a hypothesis scores sum log-prob / length^this")
      ->capture_default_str();
  cmd->add_flag("--sample", args->sample, "sample instead of taking the most probable token");
  auto* temperature = cmd->add_option("--temperature", args->temperature, "sampling: logits divided by this (> 0)")
                          ->capture_default_str();
  auto* top_k = cmd->add_option("--top-k", args->top_k, "sampling: keep the k most probable tokens (0: all)")
                    ->capture_default_str();
  auto* top_p = cmd->add_option("--top-p", args->top_p, "sampling: keep the fewest most probable tokens reaching p")
                    ->capture_default_str();
  auto* seed = cmd->add_option("--seed", args->seed, "sampling: the sampler's seed")->capture_default_str();
  cmd->add_option("--repetition-penalty", args->repetition_penalty,
                  "divide positive (multiply negative) logits of tokens already seen by this (1: off)")
      ->capture_default_str();
  cmd->add_option("--stop", args->stop, "end the answer before this text (repeatable)");
  cmd->add_option("overrides", args->overrides, "key.path=value overrides of the config (e.g. data.root=DIR)");
  cmd->callback([args, temperature, top_k, top_p, seed, prompt, input_ids] {
    if (prompt->count() == 0 && input_ids->count() == 0) {
      throw std::invalid_argument("generate: give --prompt TEXT, or --input-ids FILE.json");
    }
    const bool token_mode = input_ids->count() > 0;
    if (!token_mode && (!args->images.pixel_values.empty() || !args->images.image_features.empty() ||
                        args->images.images.size() > 1)) {
      throw std::invalid_argument("generate: with --prompt, give at most one --image; --pixel-values and "
                                  "--image-features need --input-ids (the prompt's image tokens written out)");
    }
    if (token_mode && !args->stop.empty()) {
      throw std::invalid_argument("generate: --stop needs a tokenizer; with --input-ids end rows with --stop-id");
    }
    for (const auto* option : {temperature, top_k, top_p, seed}) {
      if (option->count() > 0 && !args->sample) {
        throw std::invalid_argument("generate: " + option->get_name() + " applies to sampling: add --sample");
      }
    }
    if (args->sample && args->num_beams > 1) {
      throw std::invalid_argument("generate: --sample and --num-beams > 1 together (beam sampling) are not implemented");
    }
    GenerateOptions options;
    options.max_new_tokens = args->max_new_tokens;
    options.decode = parse_decode_mode(args->decode);
    options.repetition_penalty = args->repetition_penalty;
    options.stop_strings = args->stop;
    if (args->num_beams > 1 || args->num_return_sequences > 1 || args->length_penalty != 1.0) {
      options.strategy = SearchStrategy::beam;
      options.num_beams = args->num_beams;
      options.num_return_sequences = args->num_return_sequences;
      options.length_penalty = args->length_penalty;
    } else if (args->sample) {
      options.strategy = SearchStrategy::sample;
      options.temperature = args->temperature;
      options.top_k = args->top_k;
      options.top_p = args->top_p;
      options.seed = args->seed;
    }
    // Bad values fail before the model loads (detokenize comes with the tokenizer, later).
    auto checked = options;
    checked.detokenize = [](const std::vector<int64_t>&) { return std::string(); };
    validate(checked);

    // The answer alone goes to stdout, so scripts can read it; log lines go to stderr.
    const auto level = spdlog::get_level();
    spdlog::set_default_logger(spdlog::stderr_color_mt("trol_generate"));
    spdlog::set_level(level);
    namespace fs = std::filesystem;
    if (token_mode && fs::is_directory(args->model) && args->config.empty()) {
      auto [config, model] = load_model_folder(args->model, args->overrides);
      configure_runtime(config.runtime);
      generate_from_ids(config, model, *args, options);
      return;
    }
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
    if (!args->images.images.empty() && !model_config.vision.enabled) {
      throw std::invalid_argument("generate: --image given, but this model has no vision encoder");
    }

    TrolModel model(model_config);
    load_model_weights(weights.string(), *model);
    if (token_mode) {
      generate_from_ids(config, model, *args, options);
      return;
    }
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
    std::vector<int64_t> image_tokens;
    if (!args->images.images.empty()) {
      const auto& image = args->images.images.front();
      conversation.images = {image};
      text = kImagePlaceholder + "\n" + text;
      pixels = image_to_tiles(load_rgb(image), model_config.vision.image_size, config.data).to(device, dtype);
      image_tokens.push_back(pixels.size(0) * model_config.vision.tokens_per_image());
    }
    conversation.turns = {{"human", text}};
    const auto prompt = encode_prompt(conversation, tokenizer, chat, image_tokens).input_ids;
    if (options.num_return_sequences == 1) {
      std::cout << generate_answers(model, {prompt}, pixels, tokenizer, chat, options).front() << std::endl;
      return;
    }
    // Several beams: each answer on its line, best first; scores (sum log-prob / length^penalty) on stderr.
    options = answer_options(options, tokenizer, chat);
    const auto sequences = generate(model, {prompt}, pixels, options).front();
    for (const auto& sequence : sequences) {
      spdlog::info("score {:.4f}", sequence.score);
      std::cout << answer_text(tokenizer, sequence.ids, options.stop_strings) << std::endl;
    }
  });
}

}  // namespace trol::cli
