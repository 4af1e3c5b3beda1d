#include "train/train_step.h"

#include "train/fused_adamw.h"
#include "trol/compat.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace trol {

StepOutcome training_step(TrolModel& model, torch::optim::Optimizer& optimizer, const std::vector<torch::Tensor>& trainable,
                          const std::vector<Batch>& micro_batches, const StepOptions& options) {
  StepOutcome outcome;
  optimizer.zero_grad();
  int64_t supervised = 0;
  for (const auto& batch : micro_batches) supervised += batch.supervised_tokens;
  const double denominator = static_cast<double>(std::max<int64_t>(supervised, 1));
  const double loss_scale = options.loss_scaler != nullptr ? options.loss_scaler->scale() : 1.0;

  // The loss stays on the device until the step is over: one host sync per step, not one
  // per micro-batch.
  torch::Tensor loss_sum, gate_sums, gate_tokens;
  for (const auto& batch : micro_batches) {
    const auto inputs = to_device(batch.inputs, options.device, options.dtype);
    ModelOutput out;
    {
      // Autocast covers the forward only: backward runs each op in the dtype its forward used.
      std::optional<compat::AutocastGuard> autocast;
      if (options.autocast) autocast.emplace(options.device.type(), *options.autocast);
      out = model->forward(inputs, options.collect_gate_means);
    }
    (out.loss.sum * (loss_scale / denominator)).backward();
    const auto detached = out.loss.sum.detach();
    loss_sum = loss_sum.defined() ? loss_sum + detached : detached;
    outcome.tokens += batch.tokens;
    if (out.gate_ratios.defined()) {  // [layers, batch, seq]: averaged over the real tokens
      const auto mask = inputs.attention_mask.to(torch::kFloat64);
      const auto sums = (out.gate_ratios.to(torch::kFloat64) * mask).sum({1, 2});
      gate_sums = gate_sums.defined() ? gate_sums + sums : sums;
      gate_tokens = gate_tokens.defined() ? gate_tokens + mask.sum() : mask.sum();
    }
  }
  outcome.loss = loss_sum.defined() ? loss_sum.item<double>() / denominator : 0.0;
  if (gate_sums.defined()) {
    const auto means = (gate_sums / gate_tokens).cpu();
    outcome.gate_means.assign(means.data_ptr<double>(), means.data_ptr<double>() + means.numel());
  }
  if (options.loss_scaler != nullptr && !options.loss_scaler->unscale(trainable) && std::isfinite(outcome.loss)) {
    options.loss_scaler->update(/*overflowed=*/true);
    outcome.overflowed = true;
    return outcome;
  }
  const double clip_to = options.max_grad_norm > 0 ? options.max_grad_norm : std::numeric_limits<double>::infinity();
  outcome.grad_norm = torch::nn::utils::clip_grad_norm_(trainable, clip_to);
  if (!std::isfinite(outcome.loss) || !std::isfinite(outcome.grad_norm)) return outcome;
  if (options.before_update) options.before_update();
  if (auto* adamw = dynamic_cast<torch::optim::AdamW*>(&optimizer)) {
    adamw_step(*adamw);
  } else {
    optimizer.step();
  }
  if (options.loss_scaler != nullptr) options.loss_scaler->update(/*overflowed=*/false);
  outcome.applied = true;
  return outcome;
}

}  // namespace trol
