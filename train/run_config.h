// The resolved configuration of a trol run: one YAML file plus `key.path=value` overrides.
#pragma once

#include <string>
#include <vector>

#include "data/data_config.h"
#include "eval/evaluator.h"
#include "train/distributed/distributed_config.h"
#include "train/runtime.h"
#include "train/train_config.h"
#include "trol/model_config.h"

namespace trol {

struct RunConfig {
  ModelConfig model;      // model:   architecture (trol/model_config.h)
  RuntimeConfig runtime;  // runtime: device, dtype, seed, threads
  DataConfig data;        // data:    dataset folder, tokenizer, template, images
  TrainConfig train;      // train:   output folder and stages
  EvalOptions eval;       // eval:    benchmarks run on the final model
  DistributedConfig distributed;  // distributed: backend, timeout, gradient buckets (multi-process runs)
  std::string source;     // the file it was read from
  std::string effective_yaml;  // the file with the overrides applied, as saved with checkpoints
};

// Reads and validates a run config; every error is a ConfigError naming file, line and key.
RunConfig load_run_config(const std::string& file, const std::vector<std::string>& overrides = {});

}  // namespace trol
