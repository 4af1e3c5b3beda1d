// Evaluation of a model on the built-in dataset's held-out splits, with the same readers,
// prompts and scorers as the real benchmarks: POPE (random / popular / adversarial),
// MMBench-style multiple choice, and VQA-style colour / counting / position questions.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/data_config.h"
#include "eval/items/benchmark_items.h"
#include "trol/generate.h"
#include "trol/kv_cache.h"
#include "trol/model.h"

namespace trol {

class ConfigReader;
class Tokenizer;
struct ChatTemplate;

// One public benchmark in its own files (an entry of eval.suites): generated for, written as
// predictions/<name>.jsonl, scored by `trol score`'s scorer into metrics/<name>.json.
struct EvalSuite {
  std::string name;             // output file names ("": the benchmark's name); unique in the list
  BenchmarkSource source;       // benchmark, data (as `trol score --data` takes it), images (optional folder)
  int64_t max_new_tokens = 0;   // 0: the authors' length for the benchmark (5 tokens; MathVista 512)
};

// The `eval:` section of a run config: evaluation after training.
struct EvalOptions {
  bool enabled = false;         // evaluate the final model after `trol train`
  std::vector<std::string> benchmarks{"pope_random", "pope_popular", "pope_adversarial", "vqa", "mmbench"};
  int64_t batch_size = 32;      // prompts generated together
  int64_t max_new_tokens = 6;   // answers are a word or a letter
  int64_t limit = 0;            // items per benchmark (0: all)
  DecodeMode decode = DecodeMode::exact;  // how a traversed model decodes with the KV cache
  int64_t num_beams = 1;        // 1: greedy; more: beam search (the authors evaluate with 5)
  std::string output_dir;       // predictions/<benchmark>.jsonl are written here ("": not written)
  std::vector<EvalSuite> suites;  // public benchmarks in their own files (eval/suite_evaluation.h)
  std::string scoring = "official";  // suites: official | trol (the authors' scoring, see `trol score`)
  int64_t every_steps = 0;      // also evaluate the suites every N optimizer steps of training (0: never)
};

struct EvalReport {
  nlohmann::ordered_json metrics;    // {"pope_random": {"accuracy":..}, "colour": {"accuracy":..}, ...}
  std::vector<std::vector<double>> mean_gate;  // [layer][prompt position] mean mixing ratio (POPE prompts)
  int64_t items = 0;
  int64_t unparsable = 0;
  double seconds = 0;
};

EvalOptions read_eval_options(ConfigReader& reader);
// One entry of eval.suites: {benchmark, data, images, name, max_new_tokens}, defaults filled in.
EvalSuite read_eval_suite(ConfigReader& reader);

// The answers a model gives to prompts encoded with `chat` (token ids, image positions as the
// image token; `pixels` all their images in order, or undefined): greedy decoding that stops
// at the template's answer end or the tokenizer's EOS, decoded and trimmed. What the
// evaluator scores and `trol generate` prints.
std::vector<std::string> generate_answers(TrolModel& model, const std::vector<std::vector<int64_t>>& prompts,
                                          const torch::Tensor& pixels, const Tokenizer& tokenizer,
                                          const ChatTemplate& chat, int64_t max_new_tokens, DecodeMode decode);

// The same with every generation setting of `options` (strategy, beams, sampling, stop strings),
// completed by answer_options(). Each answer is answer_text() of the prompt's best sequence.
std::vector<std::string> generate_answers(TrolModel& model, const std::vector<std::vector<int64_t>>& prompts,
                                          const torch::Tensor& pixels, const Tokenizer& tokenizer,
                                          const ChatTemplate& chat, GenerateOptions options);

// `options` with what answers need from the tokenizer and template: the pad id, the stop ids
// (the template's answer end and the tokenizer's EOS, added to any given) and `detokenize`
// (which refers to `tokenizer`: keep it alive while the options are used).
GenerateOptions answer_options(GenerateOptions options, const Tokenizer& tokenizer, const ChatTemplate& chat);

// The text of generated ids, cut before the first of `stop_strings`, trimmed.
std::string answer_text(const Tokenizer& tokenizer, const std::vector<int64_t>& ids,
                        const std::vector<std::string>& stop_strings);

// The generation settings an evaluation uses (greedy, or beam search with eval.num_beams).
GenerateOptions generate_options(const EvalOptions& options);

// The prompt ids of one image question as every evaluation encodes it: a user turn
// "<image>\n" + question in `chat`, the image run `image_tokens` long (its tiles x the model's
// tokens per image). `id` names the conversation in error messages.
std::vector<int64_t> encode_image_question(const std::string& id, const std::string& question, const Tokenizer& tokenizer,
                                           const ChatTemplate& chat, int64_t image_tokens);

// The prompt ids of a user turn holding one image placeholder per entry of `image_tokens` (the
// length of each image's run; none: a text-only question).
std::vector<int64_t> encode_user_turn(const std::string& id, const std::string& turn,
                                      const std::vector<int64_t>& image_tokens, const Tokenizer& tokenizer,
                                      const ChatTemplate& chat);

// An image as model input, through the training pipeline (load_rgb or decode_rgb, then
// image_to_tiles at `size` with data.tiling and data.image_mean/std): from `path`, or from
// `bytes` when the path is empty (`what` names it in errors). Returns [tiles, 3, size, size].
// Throws std::runtime_error for a missing or corrupt image.
torch::Tensor eval_image(const std::string& path, const std::vector<uint8_t>& bytes, const std::string& what,
                         const DataConfig& data, int64_t size);

EvalReport evaluate_builtin(TrolModel& model, const DataConfig& data, const EvalOptions& options);

}  // namespace trol
