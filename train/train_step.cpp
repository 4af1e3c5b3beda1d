#include "train/train_step.h"

#include <fmt/format.h>

#include "train/distributed/gradient_buckets.h"
#include "train/distributed/process_group.h"
#include "train/fused_adamw.h"
#include "trol/compat.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace trol {

StepOutcome training_step(TrolModel& model, torch::optim::Optimizer& optimizer, const std::vector<torch::Tensor>& trainable,
                          const std::vector<Batch>& micro_batches, const StepOptions& options) {
  StepOutcome outcome;
  ProcessGroup* const group = options.group;
  optimizer.zero_grad();
  int64_t supervised = 0, tokens = 0, too_long = 0, longest = 0;
  for (const auto& batch : micro_batches) {
    supervised += batch.supervised_tokens;
    tokens += batch.tokens;
    if (batch.empty()) continue;
    longest = std::max<int64_t>(longest, batch.inputs.input_ids.size(1));
    if (options.max_length > 0 && batch.inputs.input_ids.size(1) > options.max_length) ++too_long;
  }
  if (group != nullptr) {
    // Before any forward: the global token counts, and every rank learns of an over-long
    // batch on any rank (one rank failing alone would leave the others in a collective).
    const auto totals = group->sum({static_cast<double>(supervised), static_cast<double>(tokens),
                                    static_cast<double>(too_long)},
                                   "token count");
    supervised = std::llround(totals[0]);
    tokens = std::llround(totals[1]);
    too_long = std::llround(totals[2]);
  }
  if (too_long > 0) {
    throw std::runtime_error(fmt::format("{} micro-batch(es) longer than data.max_length = {} (this rank's longest: {} "
                                         "tokens after image-token expansion)",
                                         too_long, options.max_length, longest));
  }
  const double denominator = static_cast<double>(std::max<int64_t>(supervised, 1));
  const double loss_scale = options.loss_scaler != nullptr ? options.loss_scaler->scale() : 1.0;

  // The loss stays on the device until the step is over: one host sync per step, not one
  // per micro-batch.
  torch::Tensor loss_sum, gate_sums, gate_tokens;
  for (size_t m = 0; m < micro_batches.size(); ++m) {
    const auto& batch = micro_batches[m];
    // Data parallel: gradients are summed over the ranks during the last backward only.
    if (options.buckets != nullptr) options.buckets->prepare(/*sync=*/m + 1 == micro_batches.size());
    if (batch.empty()) continue;  // this rank's share of the batch is empty: it still syncs
    // The image tokens are counted on the host: the merge's check then costs no device sync.
    const auto inputs = to_device(with_image_positions(batch.inputs, model->config().resolved_image_token_id()),
                                  options.device, options.dtype);
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
    if (out.gate_ratios.defined()) {  // [layers, batch, seq]: averaged over the real tokens
      const auto mask = inputs.attention_mask.to(torch::kFloat64);
      const auto sums = (out.gate_ratios.to(torch::kFloat64) * mask).sum({1, 2});
      gate_sums = gate_sums.defined() ? gate_sums + sums : sums;
      gate_tokens = gate_tokens.defined() ? gate_tokens + mask.sum() : mask.sum();
    }
  }
  outcome.tokens = tokens;
  if (options.buckets != nullptr) options.buckets->finish();
  double loss_total = loss_sum.defined() ? loss_sum.item<double>() : 0.0;
  std::vector<double> gates;
  double gate_count = 0;
  if (gate_sums.defined()) {
    const auto sums = gate_sums.cpu();
    gates.assign(sums.data_ptr<double>(), sums.data_ptr<double>() + sums.numel());
    gate_count = gate_tokens.item<double>();
  }
  if (group != nullptr) {
    // The loss (and the gate statistics, when collected) of the global batch.
    std::vector<double> values{loss_total, gate_count};
    if (options.collect_gate_means) {
      const auto layers = model->config().llm.num_layers;
      gates.resize(static_cast<size_t>(layers), 0.0);  // a rank with an empty share has none
      values.insert(values.end(), gates.begin(), gates.end());
    }
    const auto totals = group->sum(values, "loss");
    loss_total = totals[0];
    gate_count = totals[1];
    gates.assign(totals.begin() + 2, totals.end());
  }
  outcome.loss = loss_total / denominator;
  if (gate_count > 0) {
    for (double& g : gates) g /= gate_count;
    outcome.gate_means = gates;
  }
  if (options.loss_scaler != nullptr) {
    // The gradients are the same on every rank after the sum, so is this decision; it is
    // agreed on all the same (bitwise equality across machines is not promised).
    bool finite = options.loss_scaler->unscale(trainable);
    if (group != nullptr) finite = !group->any(!finite, "loss-scale overflow check");
    if (!finite && std::isfinite(outcome.loss)) {
      options.loss_scaler->update(/*overflowed=*/true);
      outcome.overflowed = true;
      return outcome;
    }
  }
  const double clip_to = options.max_grad_norm > 0 ? options.max_grad_norm : std::numeric_limits<double>::infinity();
  outcome.grad_norm = torch::nn::utils::clip_grad_norm_(trainable, clip_to);
  bool finite = std::isfinite(outcome.loss) && std::isfinite(outcome.grad_norm);
  if (group != nullptr) finite = !group->any(!finite, "finite loss and gradient check");
  if (!finite) return outcome;
  if (options.before_update) options.before_update();
  if (auto* adamw = dynamic_cast<torch::optim::AdamW*>(&optimizer)) {
    adamw_step(*adamw);
  } else {
    optimizer.step();
  }
  if (options.after_update) options.after_update();
  if (options.loss_scaler != nullptr) options.loss_scaler->update(/*overflowed=*/false);
  outcome.applied = true;
  return outcome;
}

}  // namespace trol
