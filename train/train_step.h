// One optimizer step as the trainer takes it: forward and backward over the micro-batches,
// the loss normalised by the supervised tokens of all of them together (so gradient
// accumulation equals one large batch), gradient-norm clipping, and the AdamW update,
// skipped when the loss or the gradient is not finite. AdamW runs fused on CPU float32
// (train/fused_adamw.h). `trol bench` times this same step.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <vector>

#include "data/batch_loader.h"
#include "trol/model.h"

namespace trol {

struct StepOutcome {
  double loss = 0;       // mean over the supervised tokens of all micro-batches
  double grad_norm = 0;  // before clipping
  bool applied = false;  // false: non-finite loss or gradient, the parameters are unchanged
  int64_t tokens = 0;    // real (unpadded) tokens of the micro-batches
  std::vector<double> gate_means;  // per layer: mean mixing ratio w over the real tokens (when asked,
                                   // with traversal on)
};

// `trainable` are the parameters `optimizer` updates; max_grad_norm <= 0 clips nothing
// (the norm is still computed, so non-finite gradients are caught). `before_update` runs
// between the backward passes and the update (the trainer's fault-injection point).
StepOutcome training_step(TrolModel& model, torch::optim::Optimizer& optimizer, const std::vector<torch::Tensor>& trainable,
                          const std::vector<Batch>& micro_batches, double max_grad_norm, torch::Device device,
                          torch::ScalarType dtype, bool collect_gate_means = false,
                          const std::function<void()>& before_update = {});

}  // namespace trol
