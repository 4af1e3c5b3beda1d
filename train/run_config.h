// The resolved configuration of a trol run: one YAML file plus `key.path=value` overrides.
#pragma once

#include <string>
#include <vector>

#include "train/runtime.h"
#include "trol/model_config.h"

namespace trol {

struct RunConfig {
  ModelConfig model;      // model:   architecture (trol/model_config.h)
  RuntimeConfig runtime;  // runtime: device, dtype, seed, threads
  std::string source;     // the file it was read from
};

// Reads and validates a run config; every error is a ConfigError naming file, line and key.
RunConfig load_run_config(const std::string& file, const std::vector<std::string>& overrides = {});

}  // namespace trol
