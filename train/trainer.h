// The trainer: runs the stages of a recipe in order on one model, each stage continuing from
// the weights the previous one left, and writes a checkpoint at the end of each.
#pragma once

#include <string>
#include <vector>

#include "data/batch_loader.h"
#include "train/run_config.h"
#include "trol/model.h"

namespace trol {

struct StageResult {
  std::string name;
  std::vector<double> losses;  // per optimizer step
  std::string checkpoint;      // folder written at the end of the stage
  double seconds = 0;
  int64_t tokens = 0;
};

// How a stage's batches are made: its batch size and length grouping, the data section's
// prefetch, error policy and image normalisation, the model's image size.
BatchLoaderOptions stage_loader_options(const RunConfig& config, const StageConfig& stage, int64_t pad_id, uint64_t seed);

class Trainer {
 public:
  explicit Trainer(RunConfig config);

  std::vector<StageResult> train();
  StageResult run_stage(size_t index);

  TrolModel& model() { return model_; }
  const RunConfig& config() const { return config_; }

 private:
  RunConfig config_;
  TrolModel model_{nullptr};
  torch::Device device_;
  torch::ScalarType dtype_;
};

}  // namespace trol
