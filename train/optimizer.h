// AdamW over the trainable parameters, and the learning-rate schedule.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <vector>

#include "train/train_config.h"

namespace trol {

// Decoupled weight decay applies to matrices only: never to norms, biases or the TroL gates
// (whose few parameters set the mixing ratio and should not be pulled towards w = 0.5).
bool decays(const std::string& parameter_name, const torch::Tensor& parameter);

// AdamW over the parameters that require grad, and the factor each of its parameter groups
// applies to the scheduled learning rate.
struct StageOptimizer {
  std::unique_ptr<torch::optim::AdamW> adamw;
  std::vector<double> lr_scales;  // one per adamw->param_groups() entry

  // Sets every group's learning rate to `learning_rate` times the group's scale.
  void set_learning_rate(double learning_rate);
};

// One AdamW group per (model parameter group, decays or not) pair that holds trainable
// parameters; stage.learning_rate_scale sets a model group's factor (default 1).
StageOptimizer make_optimizer(torch::nn::Module& model, const StageConfig& stage);

// Linear warm-up from 0 to the peak over warmup_steps, then cosine decay to
// peak * min_lr_ratio at the last step. `step` counts from 0.
double learning_rate_at(const StageConfig& stage, int64_t step);

}  // namespace trol
