#include "train/trainer.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "data/batch_loader.h"
#include "data/training_set.h"
#include "train/checkpoint.h"
#include "train/optimizer.h"
#include "train/progress.h"
#include "train/train_step.h"
#include "trol/param_groups.h"

namespace trol {

BatchLoaderOptions stage_loader_options(const RunConfig& config, const StageConfig& stage, int64_t pad_id, uint64_t seed) {
  BatchLoaderOptions options;
  options.batch_size = stage.batch_size;
  options.seed = seed;
  options.group_by_length = stage.group_by_length;
  options.pad_id = pad_id;
  options.prefetch = config.data.prefetch_batches;
  options.skip_bad_images = config.data.on_error == "skip";
  options.image_size = config.model.vision.image_size;
  options.mean = config.data.image_mean;
  options.std = config.data.image_std;
  return options;
}

Trainer::Trainer(RunConfig config)
    : config_(std::move(config)),
      device_(parse_device(config_.runtime.device)),
      dtype_(parse_dtype(config_.runtime.dtype)) {
  torch::manual_seed(static_cast<uint64_t>(config_.runtime.seed));
  model_ = TrolModel(config_.model);
  if (!config_.train.init_from.empty()) {
    load_model_weights(config_.train.init_from, *model_);
    spdlog::info("weights from {}", config_.train.init_from);
  }
  model_->to(device_, dtype_);
}

std::vector<StageResult> Trainer::train() {
  std::vector<StageResult> results;
  for (size_t i = 0; i < config_.train.stages.size(); ++i) results.push_back(run_stage(i));
  return results;
}

StageResult Trainer::run_stage(size_t index) {
  const auto& stage = config_.train.stages.at(index);
  const auto& data = config_.data;
  ParameterGroups().set_trainable(*model_, stage.trainable);

  const auto training_set = build_training_set(data, stage.datasets, config_.model);
  const auto loader_options =
      stage_loader_options(config_, stage, training_set.pad_id, static_cast<uint64_t>(config_.runtime.seed) + index);
  BatchLoader loader(training_set.samples, loader_options);

  auto optimizer = make_optimizer(*model_, stage);
  const auto trainable = trainable_parameters(*model_);
  int64_t trainable_count = 0;
  for (const auto& p : trainable) trainable_count += p.numel();
  spdlog::info("stage '{}': {} samples, {} steps x {} x {} samples, {} trainable parameters", stage.name,
               training_set.samples.size(), stage.steps, stage.grad_accum, stage.batch_size, trainable_count);

  MetricsLog metrics(config_.train.output_dir + "/metrics.jsonl");
  ProgressLine progress(stage.name, stage.steps);
  StageResult result;
  result.name = stage.name;
  model_->train();
  const auto stage_start = std::chrono::steady_clock::now();
  auto window_start = stage_start;
  int64_t window_tokens = 0;
  for (int64_t step = 0; step < stage.steps; ++step) {
    const double lr = learning_rate_at(stage, step);
    optimizer.set_learning_rate(lr);
    std::vector<Batch> micro;
    for (int64_t m = 0; m < stage.grad_accum; ++m) micro.push_back(loader.next());
    const auto outcome = training_step(model_, *optimizer.adamw, trainable, micro, stage.max_grad_norm, device_, dtype_);
    window_tokens += outcome.tokens;
    if (!outcome.applied) {
      std::string ids;
      for (const auto& b : micro)
        for (const auto& id : b.sample_ids) ids += (ids.empty() ? "" : ", ") + id;
      spdlog::warn("stage '{}' step {}: non-finite loss or gradient, step skipped (samples: {})", stage.name, step + 1, ids);
      continue;
    }
    const double loss = outcome.loss, grad_norm = outcome.grad_norm;

    result.losses.push_back(loss);
    const bool log_now = (step + 1) % config_.train.log_every == 0 || step + 1 == stage.steps;
    if (log_now) {
      const auto now = std::chrono::steady_clock::now();
      const double seconds = std::chrono::duration<double>(now - window_start).count();
      const double tokens_per_second = seconds > 0 ? window_tokens / seconds : 0;
      progress.update(step + 1, loss, lr, tokens_per_second);
      metrics.record({{"stage", stage.name}, {"step", step + 1}, {"loss", loss}, {"lr", lr},
                      {"grad_norm", grad_norm}, {"tokens_per_second", tokens_per_second},
                      {"data_wait_seconds", loader.seconds_waited()}});
      window_start = now;
      window_tokens = 0;
    }
  }
  progress.finish();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - stage_start).count();

  const auto folder = config_.train.output_dir + "/checkpoints/" + stage.name;
  nlohmann::json state{{"stage", stage.name},
                       {"stage_index", index},
                       {"steps", stage.steps},
                       {"final_loss", result.losses.empty() ? 0.0 : result.losses.back()},
                       {"seconds", result.seconds},
                       {"trol_version", "0.1.0"}};
  result.checkpoint = save_stage_checkpoint(folder, *model_, config_.effective_yaml, state);
  spdlog::info("stage '{}' done in {:.0f}s, loss {:.4f}; checkpoint {}", stage.name, result.seconds,
               result.losses.empty() ? 0.0 : result.losses.back(), folder);
  return result;
}

}  // namespace trol
