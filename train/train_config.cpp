#include "train/train_config.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "trol/config_reader.h"
#include "trol/param_groups.h"

namespace trol {

namespace {

StageConfig read_stage(ConfigReader& r) {
  StageConfig s;
  r.read("name", s.name);
  r.read("datasets", s.datasets);
  {
    auto groups = r.section("trainable");
    for (const auto& group : groups.keys()) {
      bool on = false;
      groups.read(group, on);
      s.trainable[group] = on;
    }
  }
  r.read("steps", s.steps);
  r.read("batch_size", s.batch_size);
  r.read("grad_accum", s.grad_accum);
  r.read("learning_rate", s.learning_rate);
  {
    auto scales = r.section("learning_rate_scale");
    for (const auto& group : scales.keys()) {
      double scale = 1.0;
      scales.read(group, scale);
      if (!(scale > 0)) scales.fail(group, "must be positive");
      try {
        ParameterGroups().require_known(group);
      } catch (const std::invalid_argument& e) {
        scales.fail(group, e.what());
      }
      s.learning_rate_scale[group] = scale;
    }
  }
  r.read("min_lr_ratio", s.min_lr_ratio);
  r.read("warmup_steps", s.warmup_steps);
  r.read("weight_decay", s.weight_decay);
  r.read("beta1", s.beta1);
  r.read("beta2", s.beta2);
  r.read("eps", s.eps);
  r.read("max_grad_norm", s.max_grad_norm);
  r.read("group_by_length", s.group_by_length);
  r.finish();
  if (s.name.empty()) r.fail("name", "every stage needs a name");
  if (s.datasets.empty()) r.fail("datasets", "list at least one dataset file");
  if (s.steps < 1) r.fail("steps", "must be at least 1");
  if (s.batch_size < 1) r.fail("batch_size", "must be at least 1");
  if (s.grad_accum < 1) r.fail("grad_accum", "must be at least 1");
  if (!(s.learning_rate > 0)) r.fail("learning_rate", "must be positive");
  if (s.min_lr_ratio < 0 || s.min_lr_ratio > 1) r.fail("min_lr_ratio", "must be within [0, 1]");
  if (s.warmup_steps < 0 || s.warmup_steps > s.steps) r.fail("warmup_steps", "must be within [0, steps]");
  if (s.weight_decay < 0) r.fail("weight_decay", "must not be negative");
  if (!(s.eps > 0)) r.fail("eps", "must be positive");
  if (s.max_grad_norm < 0) r.fail("max_grad_norm", "must not be negative (0 turns clipping off)");
  return s;
}

}  // namespace

TrainConfig read_train_config(ConfigReader& reader) {
  TrainConfig c;
  reader.read("output_dir", c.output_dir);
  reader.read("log_every", c.log_every);
  reader.read("init_from", c.init_from);
  reader.read("step_scale", c.step_scale);
  if (!(c.step_scale > 0)) reader.fail("step_scale", "must be positive");
  reader.read("save_every", c.save_every);
  if (c.save_every < 0) reader.fail("save_every", "must not be negative (0: checkpoints at stage ends only)");
  reader.read("keep_checkpoints", c.keep_checkpoints);
  if (c.keep_checkpoints < 1) reader.fail("keep_checkpoints", "must be at least 1");
  reader.read("resume", c.resume);
  reader.read("activation_checkpointing", c.activation_checkpointing);
  reader.read("max_bad_steps", c.max_bad_steps);
  if (c.max_bad_steps < 1) reader.fail("max_bad_steps", "must be at least 1");
  std::set<std::string> names;
  for (auto& stage : reader.list("stages")) {
    c.stages.push_back(read_stage(stage));
    auto& added = c.stages.back();
    added.steps = std::max<int64_t>(1, std::llround(added.steps * c.step_scale));
    added.warmup_steps = std::min<int64_t>(added.steps, std::llround(added.warmup_steps * c.step_scale));
    if (!names.insert(c.stages.back().name).second) stage.fail("name", "duplicate stage name '" + c.stages.back().name + "'");
  }
  reader.finish();
  if (c.log_every < 1) reader.fail("log_every", "must be at least 1");
  return c;
}

void keep_stages(TrainConfig& config, const std::vector<std::string>& names) {
  std::string known;
  for (const auto& stage : config.stages) known += (known.empty() ? "" : ", ") + stage.name;
  for (const auto& name : names) {
    const bool found = std::any_of(config.stages.begin(), config.stages.end(),
                                   [&](const StageConfig& stage) { return stage.name == name; });
    if (!found) throw ConfigError("--stages: no stage named '" + name + "' (the config has: " + known + ")");
  }
  std::vector<StageConfig> kept;
  for (auto& stage : config.stages) {
    if (std::find(names.begin(), names.end(), stage.name) != names.end()) kept.push_back(std::move(stage));
  }
  config.stages = std::move(kept);
}

}  // namespace trol
