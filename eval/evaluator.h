// What an evaluation runs and how it asks: the `eval:` section of a run config (the built-in
// dataset's held-out splits and public benchmarks, both suites of one path,
// eval/suite_evaluation.h), and generating answers to prompts (shared with `trol generate`).
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

// One benchmark in its own files (an entry of eval.suites, or a built-in split): generated
// for, written as predictions/<name>.jsonl, scored by `trol score`'s scorer into metrics/<name>.json.
struct EvalSuite {
  std::string name;             // output file names ("": the benchmark's name); unique in the list
  BenchmarkSource source;       // benchmark, data (as `trol score --data` takes it), images (optional folder)
  int64_t max_new_tokens = 0;   // 0: the authors' length for the benchmark (5 tokens; MathVista 512)
};

// The names eval.benchmarks takes: the built-in dataset's splits (builtin_suites, below).
const std::vector<std::string>& builtin_split_names();

// The `eval:` section of a run config: evaluation after training.
struct EvalOptions {
  bool enabled = false;         // evaluate the final model after `trol train`
  // The built-in dataset's splits, evaluated as suites (builtin_suites) before eval.suites.
  std::vector<std::string> benchmarks = builtin_split_names();
  int64_t batch_size = 32;      // prompts generated together
  int64_t max_new_tokens = 6;   // built-in splits: answers are a word or a letter (suites: their own)
  int64_t limit = 0;            // items per benchmark (0: all)
  DecodeMode decode = DecodeMode::exact;  // how a traversed model decodes with the KV cache
  int64_t num_beams = 1;        // 1: greedy; more: beam search (the authors evaluate with 5)
  std::vector<EvalSuite> suites;  // public benchmarks in their own files (eval/suite_evaluation.h)
  std::string scoring = "official";  // suites: official | trol (the authors' scoring, see `trol score`)
  int64_t every_steps = 0;      // also evaluate the suites every N optimizer steps of training (0: never)
};

EvalOptions read_eval_options(ConfigReader& reader);
// One entry of eval.suites: {benchmark, data, images, name, max_new_tokens}, defaults filled in.
EvalSuite read_eval_suite(ConfigReader& reader);

// The built-in splits of options.benchmarks as suites, in that order, their files in the
// built-in dataset's folder (data.resolve("eval")), images under data.images_folder():
//   pope_<split>  benchmark pope, eval/pope_<split>.jsonl (POPE's JSONL; the split in its name)
//   vqa           benchmark vqa, eval/vqa.jsonl (one reference answer, per category)
//   mmbench       benchmark mmbench, eval/mmbench.tsv (MMBench's TSV, base64 images)
// each answered in up to options.max_new_tokens tokens.
std::vector<EvalSuite> builtin_suites(const DataConfig& data, const EvalOptions& options);

// What an evaluation runs: builtin_suites, then options.suites.
std::vector<EvalSuite> evaluation_suites(const DataConfig& data, const EvalOptions& options);

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

}  // namespace trol
