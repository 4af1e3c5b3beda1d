// The smoke run: build the configured model on its device and dtype, and overfit one
// synthetic batch for a few AdamW steps. It proves the whole forward/backward/step path
// works (a loss that does not fall means something upstream is broken).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "train/run_config.h"

namespace trol {

struct SmokeOptions {
  int64_t steps = 20;
  int64_t batch_size = 2;
  int64_t seq_len = 0;  // 0: enough for the images plus 32 text tokens
  double learning_rate = 3e-3;
  std::map<std::string, bool> trainable;  // parameter group -> trainable (absent: trainable)
};

struct SmokeReport {
  std::vector<double> losses;                                      // one per step
  std::vector<double> mean_gate_per_layer;                         // after the last step
  std::map<std::string, std::pair<int64_t, int64_t>> parameters;  // group -> {total, trainable}
  double seconds_per_step = 0.0;                                   // median, step 0 excluded
};

SmokeReport run_smoke(const RunConfig& config, const SmokeOptions& options);

// Logs the report as `trol smoke` prints it (parameters per group, mixing ratios, the loss's
// first and last value, time per step); throws std::runtime_error when the loss did not fall.
void log_smoke_report(const SmokeReport& report);

}  // namespace trol
