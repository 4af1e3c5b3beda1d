#include "train/optimizer.h"

#include <cmath>
#include <map>
#include <stdexcept>

#include "trol/param_groups.h"

namespace trol {

bool decays(const std::string& parameter_name, const torch::Tensor& parameter) {
  if (parameter.dim() < 2) return false;  // biases, norm weights, class embedding
  return parameter_name.find("trol_gating.") == std::string::npos;
}

StageOptimizer make_optimizer(torch::nn::Module& model, const StageConfig& stage) {
  const ParameterGroups model_groups;
  for (const auto& entry : stage.learning_rate_scale) model_groups.require_known(entry.first);
  // Keyed by (model group, decays) so the AdamW groups come out in a fixed order.
  std::map<std::pair<std::string, bool>, std::vector<torch::Tensor>> buckets;
  for (auto& p : model.named_parameters()) {
    if (!p.value().requires_grad()) continue;
    buckets[{model_groups.group_of(p.key()), decays(p.key(), p.value())}].push_back(p.value());
  }
  if (buckets.empty()) throw std::invalid_argument("stage '" + stage.name + "': no trainable parameters");
  StageOptimizer out;
  std::vector<torch::optim::OptimizerParamGroup> groups;
  for (auto& [key, parameters] : buckets) {
    const auto& [group, decay] = key;
    groups.emplace_back(parameters, std::make_unique<torch::optim::AdamWOptions>(
                                        torch::optim::AdamWOptions(stage.learning_rate)
                                            .betas({stage.beta1, stage.beta2})
                                            .eps(stage.eps)
                                            .weight_decay(decay ? stage.weight_decay : 0.0)));
    const auto scale = stage.learning_rate_scale.find(group);
    out.lr_scales.push_back(scale == stage.learning_rate_scale.end() ? 1.0 : scale->second);
  }
  out.adamw = std::make_unique<torch::optim::AdamW>(groups, torch::optim::AdamWOptions(stage.learning_rate));
  return out;
}

double learning_rate_at(const StageConfig& stage, int64_t step) {
  const double peak = stage.learning_rate;
  if (step < stage.warmup_steps) return peak * static_cast<double>(step + 1) / static_cast<double>(stage.warmup_steps);
  const int64_t decay_steps = std::max<int64_t>(1, stage.steps - stage.warmup_steps - 1);
  const double progress = std::min(1.0, static_cast<double>(step - stage.warmup_steps) / decay_steps);
  const double floor = peak * stage.min_lr_ratio;
  return floor + (peak - floor) * 0.5 * (1.0 + std::cos(M_PI * progress));
}

void StageOptimizer::set_learning_rate(double learning_rate) {
  auto& groups = adamw->param_groups();
  for (size_t i = 0; i < groups.size(); ++i) {
    static_cast<torch::optim::AdamWOptions&>(groups[i].options()).lr(learning_rate * lr_scales.at(i));
  }
}

}  // namespace trol
