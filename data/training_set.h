// From a stage's dataset files to tokenized training samples: read (LLaVA format), encode
// with the chat template, resolve image paths, and check that tokenizer, template and model
// agree before any compute is spent.
#pragma once

#include <string>
#include <vector>

#include "data/batch_loader.h"
#include "data/data_config.h"
#include "data/tokenizer.h"
#include "trol/model_config.h"

namespace trol {

struct TrainingSet {
  std::vector<TrainingSample> samples;
  int64_t pad_id = 0;
  int64_t bad_records = 0;  // unreadable or malformed records skipped (on_error: skip)
  int64_t dropped = 0;      // samples too long for data.max_length (truncation: drop)
};

// The run's tokenizer with the template's special tokens.
Tokenizer load_tokenizer(const DataConfig& data);

// Throws std::invalid_argument when the tokenizer needs more embedding rows than the model
// has, or the template's image token is not the model's image_token_id (naming both values
// and the keys to change): the silent "loss 0.0" / garbage-image failures of LLaVA-style code.
void check_tokenizer_matches_model(const Tokenizer& tokenizer, const DataConfig& data, const ModelConfig& model);

TrainingSet build_training_set(const DataConfig& data, const std::vector<std::string>& datasets,
                               const ModelConfig& model);

}  // namespace trol
