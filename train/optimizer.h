// AdamW over the trainable parameters, and the learning-rate schedule.
#pragma once

#include <torch/torch.h>

#include <memory>

#include "train/train_config.h"

namespace trol {

// Decoupled weight decay applies to matrices only: never to norms, biases or the TroL gates
// (whose few parameters set the mixing ratio and should not be pulled towards w = 0.5).
bool decays(const std::string& parameter_name, const torch::Tensor& parameter);

// AdamW with two parameter groups (decay / no decay) over parameters that require grad.
std::unique_ptr<torch::optim::AdamW> make_optimizer(torch::nn::Module& model, const StageConfig& stage);

// Linear warm-up from 0 to the peak over warmup_steps, then cosine decay to
// peak * min_lr_ratio at the last step. `step` counts from 0.
double learning_rate_at(const StageConfig& stage, int64_t step);

void set_learning_rate(torch::optim::Optimizer& optimizer, double learning_rate);

}  // namespace trol
