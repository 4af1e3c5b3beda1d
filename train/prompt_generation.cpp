#include "train/prompt_generation.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "data/chat_template.h"
#include "data/conversation.h"
#include "data/image_ops.h"
#include "data/training_set.h"
#include "eval/evaluator.h"
#include "train/checkpoint.h"
#include "train/model_import.h"
#include "train/run_config.h"
#include "train/runtime.h"

namespace trol {
namespace {

// --input-ids: the new ids of every prompt as JSON on stdout ([[ids], ...]; with
// --num-return-sequences N, [[[ids], ...N], ...]).
void generate_from_ids(const RunConfig& config, TrolModel& model, const PromptGeneration& request, GenerateOptions options) {
  const auto prompts = read_token_rows(request.input_ids);
  check_token_ids(prompts, config.model.llm.embedding_rows(), request.input_ids);
  const auto device = parse_device(config.runtime.device);
  const auto dtype = parse_dtype(config.runtime.dtype);
  model->to(device, dtype);
  const auto images = read_images(request.images, config.model, config.data, model);
  options.stop_ids = request.stop_ids;
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

void generate_and_print(const PromptGeneration& request) {
  auto options = request.options;
  namespace fs = std::filesystem;
  if (!request.input_ids.empty() && fs::is_directory(request.model) && request.config.empty()) {
    auto [config, model] = load_model_folder(request.model, request.overrides);
    configure_runtime(config.runtime);
    generate_from_ids(config, model, request, options);
    return;
  }
  const bool folder = fs::is_directory(request.model);
  const fs::path weights = folder ? fs::path(request.model) / "model.safetensors" : fs::path(request.model);
  if (!fs::is_regular_file(weights)) {
    throw std::runtime_error("generate: no weights at '" + weights.string() +
                             "' (give a checkpoint folder or its model.safetensors)");
  }
  const fs::path config_file = request.config.empty() ? weights.parent_path() / "config.yaml" : fs::path(request.config);
  if (!fs::is_regular_file(config_file)) {
    throw std::runtime_error("generate: no config at '" + config_file.string() +
                             "' (a trol checkpoint folder holds config.yaml; or give --config)");
  }
  const auto config = load_run_config(config_file.string(), request.overrides);
  configure_runtime(config.runtime);
  const auto& model_config = config.model;
  if (!request.images.images.empty() && !model_config.vision.enabled) {
    throw std::invalid_argument("generate: --image given, but this model has no vision encoder");
  }

  TrolModel model(model_config);
  load_model_weights(weights.string(), *model);
  if (!request.input_ids.empty()) {
    generate_from_ids(config, model, request, options);
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
  std::string text = request.prompt;
  std::vector<int64_t> image_tokens;
  if (!request.images.images.empty()) {
    const auto& image = request.images.images.front();
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
}

}  // namespace trol
