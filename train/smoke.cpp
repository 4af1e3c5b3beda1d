#include "train/smoke.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "data/synthetic_batch.h"
#include "trol/model.h"
#include "trol/param_groups.h"

namespace trol {

SmokeReport run_smoke(const RunConfig& config, const SmokeOptions& options) {
  const auto device = parse_device(config.runtime.device);
  const auto dtype = parse_dtype(config.runtime.dtype);
  TrolModel model(config.model);
  model->to(device, dtype);
  const ParameterGroups groups;
  groups.set_trainable(*model, options.trainable);

  SmokeReport report;
  report.parameters = groups.count(*model);

  const auto trainable = trainable_parameters(*model);
  if (trainable.empty()) throw std::invalid_argument("smoke: no trainable parameters");
  torch::optim::AdamW optimizer(trainable, torch::optim::AdamWOptions(options.learning_rate).weight_decay(0.0));

  SyntheticBatchShape shape;
  shape.batch_size = options.batch_size;
  const int64_t image_tokens = config.model.vision.enabled ? config.model.vision.tokens_per_image() : 0;
  shape.seq_len = options.seq_len > 0 ? options.seq_len : image_tokens + 32;
  const auto batch = to_device(synthetic_batch(config.model, shape, static_cast<uint64_t>(config.runtime.seed)), device, dtype);

  model->train();
  std::vector<double> step_seconds;
  for (int64_t step = 0; step < options.steps; ++step) {
    const auto start = std::chrono::steady_clock::now();
    optimizer.zero_grad();
    const bool last = step + 1 == options.steps;
    auto out = model(batch, /*collect_gate_ratios=*/last);
    out.loss.mean.backward();
    optimizer.step();
    const double loss = out.loss.mean.item<double>();
    step_seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    report.losses.push_back(loss);
    spdlog::info("smoke step {:>3}/{}  loss {:.4f}  {:.1f} ms", step + 1, options.steps, loss, 1e3 * step_seconds.back());
    if (last && out.gate_ratios.defined()) {
      const auto valid = batch.attention_mask.to(torch::kFloat32).unsqueeze(0);  // [1, B, T]
      const auto mean = (out.gate_ratios.to(torch::kFloat32) * valid).sum({1, 2}) / valid.sum();
      const auto cpu = mean.cpu();
      report.mean_gate_per_layer.assign(cpu.data_ptr<float>(), cpu.data_ptr<float>() + cpu.numel());
    }
  }
  if (step_seconds.size() > 1) {
    std::vector<double> timed(step_seconds.begin() + 1, step_seconds.end());
    std::nth_element(timed.begin(), timed.begin() + timed.size() / 2, timed.end());
    report.seconds_per_step = timed[timed.size() / 2];
  }
  return report;
}

void log_smoke_report(const SmokeReport& report) {
  for (const auto& [group, counts] : report.parameters) {
    spdlog::info("parameters {:<9} {:>12} total {:>12} trainable", group, counts.first, counts.second);
  }
  std::string gates;
  for (double w : report.mean_gate_per_layer) gates += fmt::format(" {:.3f}", w);
  if (!gates.empty()) spdlog::info("mean mixing ratio per layer:{}", gates);
  const double first = report.losses.front(), last = report.losses.back();
  spdlog::info("loss {:.4f} -> {:.4f} in {} steps, {:.1f} ms/step (median, step 1 excluded)", first, last,
               report.losses.size(), 1e3 * report.seconds_per_step);
  if (!(last < first)) throw std::runtime_error("smoke: the loss did not decrease; the training path is broken");
}

}  // namespace trol
