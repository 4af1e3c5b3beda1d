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
// The work is train/prompt_generation.h's; this file parses the arguments.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "cli/model_inputs.h"
#include "train/prompt_generation.h"
#include "trol/generate.h"

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
    PromptGeneration request;
    request.model = args->model;
    request.config = args->config;
    request.prompt = args->prompt;
    request.input_ids = args->input_ids;
    request.images = args->images;
    request.stop_ids = args->stop_ids;
    request.overrides = args->overrides;
    request.options = options;
    generate_and_print(request);
  });
}

}  // namespace trol::cli
