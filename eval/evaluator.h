// Evaluation of a model on the built-in dataset's held-out splits, with the same readers,
// prompts and scorers as the real benchmarks: POPE (random / popular / adversarial),
// MMBench-style multiple choice, and VQA-style colour / counting / position questions.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/data_config.h"
#include "trol/kv_cache.h"
#include "trol/model.h"

namespace trol {

class ConfigReader;
class Tokenizer;
struct ChatTemplate;

// The `eval:` section of a run config: evaluation after training.
struct EvalOptions {
  bool enabled = false;         // evaluate the final model after `trol train`
  std::vector<std::string> benchmarks{"pope_random", "pope_popular", "pope_adversarial", "vqa", "mmbench"};
  int64_t batch_size = 32;      // prompts generated together
  int64_t max_new_tokens = 6;   // answers are a word or a letter
  int64_t limit = 0;            // items per benchmark (0: all)
  DecodeMode decode = DecodeMode::exact;  // how a traversed model decodes with the KV cache
  std::string output_dir;       // predictions/<benchmark>.jsonl are written here ("": not written)
};

struct EvalReport {
  nlohmann::ordered_json metrics;    // {"pope_random": {"accuracy":..}, "colour": {"accuracy":..}, ...}
  std::vector<std::vector<double>> mean_gate;  // [layer][prompt position] mean mixing ratio (POPE prompts)
  int64_t items = 0;
  int64_t unparsable = 0;
  double seconds = 0;
};

EvalOptions read_eval_options(ConfigReader& reader);

// The answers a model gives to prompts encoded with `chat` (token ids, image positions as the
// image token; `pixels` all their images in order, or undefined): greedy decoding that stops
// at the template's answer end or the tokenizer's EOS, decoded and trimmed. What the
// evaluator scores and `trol generate` prints.
std::vector<std::string> generate_answers(TrolModel& model, const std::vector<std::vector<int64_t>>& prompts,
                                          const torch::Tensor& pixels, const Tokenizer& tokenizer,
                                          const ChatTemplate& chat, int64_t max_new_tokens, DecodeMode decode);

EvalReport evaluate_builtin(TrolModel& model, const DataConfig& data, const EvalOptions& options);

}  // namespace trol
