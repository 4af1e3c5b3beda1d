// Batched greedy decoding: the answers a model gives to a batch of prompts, for evaluation.
//
// Prompts of different lengths are left-padded into one batch, so every row's next token
// is read from the same (last) column; the decoder computes rotary positions from the
// attention mask, so a left-padded row sees exactly the positions it would see alone.
// The image features and prompt embeddings are computed once. With the KV cache (the
// default) the prompt is run once and every step runs the decoder on one new token per row;
// without it every step reruns the decoder on the whole, growing sequence (the reference
// that `DecodeMode::exact` must reproduce, and the baseline of `trol bench --what decode`).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "trol/kv_cache.h"
#include "trol/model.h"

namespace trol {

struct GenerateOptions {
  int64_t max_new_tokens = 8;     // most tokens generated per prompt
  std::vector<int64_t> stop_ids;  // a row ends at the first of these (it is not returned)
  int64_t pad_id = 0;             // fills the left padding; must not be the image token id
  bool use_cache = true;          // false: recompute the whole sequence at every step (exact decoding only)
  DecodeMode decode = DecodeMode::exact;
};

// Greedy (argmax) continuation of each prompt; returns only the new tokens, per prompt,
// without the stop id that ended it. `prompts` hold token ids, image positions as the
// model's image token id; `pixel_values` [images, channels, size, size] are all images of all
// prompts in prompt order (undefined or empty for text only). Runs in eval mode under
// NoGradGuard on the model's device and dtype, and restores the model's training mode after.
// A generated token is always embedded as text, even when it happens to be the image token id.
// Throws std::invalid_argument for an empty prompt, a pad id equal to the image token id,
// released decoding without a cache, or (from the image merge) image tokens that do not match
// the images given.
std::vector<std::vector<int64_t>> generate_greedy(TrolModel& model, const std::vector<std::vector<int64_t>>& prompts,
                                                  const torch::Tensor& pixel_values,
                                                  const GenerateOptions& options = {});

}  // namespace trol
