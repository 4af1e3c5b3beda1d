// The trainer: runs the stages of a recipe in order on one model, each stage continuing from
// the weights the previous one left, and writes a checkpoint at the end of each.
#pragma once

#include <string>
#include <vector>

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
