// Batched generation: the answers a model gives to a batch of prompts, greedy, by beam search
// (the authors evaluate with 5 beams) or sampled.
//
// Prompts of different lengths are left-padded into one batch, so every row's next token
// is read from the same (last) column; the decoder computes rotary positions from the
// attention mask, so a left-padded row sees exactly the positions it would see alone.
// The image features and prompt embeddings are computed once, for the prompt only (beam
// search copies a prompt's cache rows to its beams after the first step). With the KV cache
// (the default) the prompt is run once and every step runs the decoder on one new token per
// row; without it every step reruns the decoder on the whole, growing sequence (the reference
// that `DecodeMode::exact` must reproduce, and the baseline of `trol bench --what decode`).
//
// The choices follow Hugging Face's `generate`, so numbers from the authors' evaluation
// (which calls it) can be reproduced:
//   - repetition penalty (CTRL): a logit of a token already in the row (prompt or generated,
//     not padding) is divided by the penalty when positive, multiplied when negative. Greedy
//     and sampling apply it to the logits; beam search, as Hugging Face's, to the log-softmax.
//   - sampling: logits / temperature, then top-k (every token whose logit ties the k-th is
//     kept), then top-p (the smallest set of most probable tokens whose probability sums to at
//     least p; always at least one), then one draw from the renormalised distribution.
//   - beam search: see SearchStrategy::beam and EarlyStopping.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "trol/kv_cache.h"
#include "trol/model.h"

namespace trol {

enum class SearchStrategy {
  greedy,  // the most probable token at every step
  // Hugging Face's beam search, batched over prompts: every step each prompt's `num_beams`
  // running beams are extended by every token, and the best max(2, 1 + stop ids) × num_beams
  // extensions (by summed log-probability) are read in order. An extension that ends the
  // sequence (a stop id, a stop string, or the max_new_tokens-th token) becomes a finished
  // hypothesis if it ranks among the first num_beams, scored sum log-prob / length^length_penalty
  // (length: new tokens, the ending one included; so is its log-probability); the first
  // num_beams extensions that do not end continue as the running beams, their cache rows
  // moved to them (KvCache::reorder). Each prompt keeps its num_beams best hypotheses.
  beam,
  sample,  // a draw from the filtered distribution (temperature, top_k, top_p), with `seed`
};

// When beam search stops working on a prompt that already holds num_beams finished
// hypotheses (Hugging Face's `early_stopping`).
enum class EarlyStopping {
  // Hugging Face's default (early_stopping=False): stop when the best running beam's summed
  // log-probability divided by its current length^length_penalty is no better than the worst
  // finished hypothesis. (A heuristic: with length_penalty > 0 a longer continuation could
  // still have won.)
  heuristic,
  first,  // early_stopping=True: stop as soon as num_beams hypotheses are finished
  // early_stopping="never": as heuristic, but with length_penalty > 0 the best running beam is
  // divided by max_new_tokens^length_penalty, the best it could reach: exact, not heuristic.
  never,
};

// Every setting of one generation call, with Hugging Face's defaults. validate() is called by
// generate(): a setting that the strategy would ignore is refused rather than dropped.
struct GenerateOptions {
  SearchStrategy strategy = SearchStrategy::greedy;
  int64_t max_new_tokens = 8;     // most tokens generated per prompt
  std::vector<int64_t> stop_ids;  // a row ends at the first of these (it is not returned)
  // A row (or beam) ends once detokenize(its new tokens) contains one of these; the token that
  // completed it is returned (cut_at_stop_strings removes the text from the stop string on).
  std::vector<std::string> stop_strings;
  // Text of new token ids; needed by stop_strings (trol/ knows no tokenizer: the caller's).
  std::function<std::string(const std::vector<int64_t>&)> detokenize;
  int64_t pad_id = 0;             // fills the left padding; must not be the image token id
  bool use_cache = true;          // false: recompute the whole sequence at every step (exact decoding only)
  DecodeMode decode = DecodeMode::exact;
  // Instead of pixel_values: the images as the vision tower's output (ModelInputs::image_tower_output).
  torch::Tensor image_tower_output;
  double repetition_penalty = 1.0;  // > 0; 1: none (every strategy)

  // beam
  int64_t num_beams = 1;              // beams per prompt (strategy beam only; 1 is allowed and equals greedy)
  double length_penalty = 1.0;        // exponent of the length that divides a hypothesis' log-probability
  EarlyStopping early_stopping = EarlyStopping::heuristic;
  int64_t num_return_sequences = 1;   // hypotheses returned per prompt, best first (<= num_beams; 1 otherwise)

  // sample
  double temperature = 1.0;  // > 0; logits are divided by it
  int64_t top_k = 0;         // keep the k most probable tokens (0: all)
  double top_p = 1.0;        // in (0, 1]; keep the smallest set whose probability reaches p (1: all)
  uint64_t seed = 0;         // of the sampler's own generator: same seed, same draws (global RNG untouched)
};

// Throws std::invalid_argument naming the option and the fix for an impossible value or one
// the strategy ignores (e.g. temperature without strategy sample, num_beams > 1 without beam).
void validate(const GenerateOptions& options);

// Why a sequence ended.
enum class FinishReason { stop_id, stop_string, length };

struct GeneratedSequence {
  std::vector<int64_t> ids;  // the new tokens, without the stop id that ended them
  // beam: sum log-prob / length^length_penalty (as ranked); greedy, sample: the summed
  // log-probabilities of the chosen tokens (the stop id's included) under the distribution they
  // were chosen from (after the repetition penalty; for sampling also after temperature, top-k, top-p).
  double score = 0;
  FinishReason finish = FinishReason::length;
};

// The continuations of each prompt: [prompt][0 .. num_return_sequences), best first.
// `prompts` hold token ids, image positions as the model's image token id; `pixel_values`
// [images, channels, size, size] are all images of all prompts in prompt order (undefined or
// empty for text only). Runs in eval mode under NoGradGuard on the model's device and dtype,
// and restores the model's training mode after. A generated token is always embedded as text,
// even when it happens to be the image token id. Sampling draws for the whole batch from one
// generator, row after row: a prompt's sample depends on the seed and on its place in the batch.
// Throws std::invalid_argument for an empty prompt, a pad id equal to the image token id,
// released decoding without a cache, invalid options, or (from the image merge) image tokens
// that do not match the images given.
std::vector<std::vector<GeneratedSequence>> generate(TrolModel& model, const std::vector<std::vector<int64_t>>& prompts,
                                                     const torch::Tensor& pixel_values, const GenerateOptions& options);

// The greedy continuation of each prompt (options.strategy is ignored: greedy), its ids only.
// Kept for callers written before generate(); equal to generate(...)[i][0].ids.
std::vector<std::vector<int64_t>> generate_greedy(TrolModel& model, const std::vector<std::vector<int64_t>>& prompts,
                                                  const torch::Tensor& pixel_values,
                                                  const GenerateOptions& options = {});

// `text` up to the first occurrence of any of `stop_strings` (all of it when none occurs).
std::string cut_at_stop_strings(const std::string& text, const std::vector<std::string>& stop_strings);

// The building blocks of token choice, on logits [rows, vocab] (exposed for tests).
// `seen` [rows, vocab] bool: the tokens already in each row.
torch::Tensor apply_repetition_penalty(const torch::Tensor& logits, const torch::Tensor& seen, double penalty);
// Temperature, top-k and top-p as described above: removed tokens get -inf.
torch::Tensor filter_logits(const torch::Tensor& logits, double temperature, int64_t top_k, double top_p);

}  // namespace trol
