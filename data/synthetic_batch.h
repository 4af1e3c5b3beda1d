// Random, well-formed model inputs of a given shape: for smoke runs, tests and benchmarks
// that need a batch with the real structure (image-token runs, padding, masked labels)
// without a dataset.
#pragma once

#include <cstdint>

#include "trol/model.h"

namespace trol {

struct SyntheticBatchShape {
  int64_t batch_size = 2;
  int64_t seq_len = 48;          // longest row; other rows are shorter and right-padded
  int64_t images_per_sample = 1;  // image-token runs per row (0 for text only)
  bool vary_lengths = true;      // rows of different lengths, to exercise padding
};

// Deterministic in `seed`. Labels supervise the second half of each row's real tokens
// (like an answer after a prompt) and never an image token or padding.
ModelInputs synthetic_batch(const ModelConfig& config, const SyntheticBatchShape& shape, uint64_t seed);

}  // namespace trol
