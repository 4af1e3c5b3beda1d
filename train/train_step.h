// One optimizer step as the trainer takes it: forward and backward over the micro-batches,
// the loss normalised by the supervised tokens of all of them together (so gradient
// accumulation equals one large batch), gradient-norm clipping, and the AdamW update,
// skipped when the loss or the gradient is not finite. AdamW runs fused on CPU float32
// (train/fused_adamw.h). `trol bench` times this same step.
//
// Data parallel (options.group set): the micro-batches are this rank's shares of the global
// ones; the token count is summed over the ranks before the first forward (the loss is
// normalised by the GLOBAL count of supervised tokens), the gradients are summed during the
// last backward (train/distributed/gradient_buckets.h), and the ranks agree that the loss
// and the gradient norm are finite before any of them steps. N ranks then take the step one
// process takes on the whole global batch.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <optional>
#include <vector>

#include "data/batch_loader.h"
#include "train/loss_scaler.h"
#include "trol/model.h"

namespace trol {

class GradientBuckets;
class ProcessGroup;

struct StepOutcome {
  double loss = 0;       // mean over the supervised tokens of all micro-batches (of all ranks)
  double grad_norm = 0;  // before clipping
  bool applied = false;  // false: non-finite loss or gradient, the parameters are unchanged
  bool overflowed = false;  // float16 loss scaling overflowed: skipped and the scale lowered (not a bad step)
  int64_t tokens = 0;    // real (unpadded) tokens of the micro-batches (of all ranks)
  std::vector<double> gate_means;  // per layer: mean mixing ratio w over the real tokens (when asked,
                                   // with traversal on)
};

struct StepOptions {
  double max_grad_norm = 1.0;  // <= 0 clips nothing (the norm is still computed, so non-finite gradients are caught)
  torch::Device device = torch::kCPU;
  torch::ScalarType dtype = torch::kFloat32;     // of the pixel inputs
  std::optional<torch::ScalarType> autocast;      // mixed precision: the forward's autocast dtype
  LossScaler* loss_scaler = nullptr;              // float16: scales the loss, skips overflowed steps
  bool collect_gate_means = false;                // fill StepOutcome::gate_means
  std::function<void()> before_update;            // runs between backward and the update (fault injection)
  std::function<void()> after_update;             // runs after an applied update (ZeRO-1: share the weights)
  int64_t max_length = 0;                         // > 0: longer batches are refused, on every rank at once
  ProcessGroup* group = nullptr;                  // data parallel: the ranks (null: one process)
  GradientBuckets* buckets = nullptr;             // with `group`: the trainable parameters' buckets
};

// `trainable` are the parameters `optimizer` updates.
StepOutcome training_step(TrolModel& model, torch::optim::Optimizer& optimizer, const std::vector<torch::Tensor>& trainable,
                          const std::vector<Batch>& micro_batches, const StepOptions& options);

}  // namespace trol
