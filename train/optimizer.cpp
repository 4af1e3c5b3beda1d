#include "train/optimizer.h"

#include <cmath>

namespace trol {

bool decays(const std::string& parameter_name, const torch::Tensor& parameter) {
  if (parameter.dim() < 2) return false;  // biases, norm weights, class embedding
  return parameter_name.find("trol_gating.") == std::string::npos;
}

std::unique_ptr<torch::optim::AdamW> make_optimizer(torch::nn::Module& model, const StageConfig& stage) {
  std::vector<torch::Tensor> with_decay, without_decay;
  for (auto& p : model.named_parameters()) {
    if (!p.value().requires_grad()) continue;
    (decays(p.key(), p.value()) ? with_decay : without_decay).push_back(p.value());
  }
  auto options = [&](double decay) {
    return std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(stage.learning_rate)
                                                            .betas({stage.beta1, stage.beta2})
                                                            .weight_decay(decay));
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  if (!with_decay.empty()) groups.emplace_back(with_decay, options(stage.weight_decay));
  if (!without_decay.empty()) groups.emplace_back(without_decay, options(0.0));
  if (groups.empty()) throw std::invalid_argument("stage '" + stage.name + "': no trainable parameters");
  return std::make_unique<torch::optim::AdamW>(groups, torch::optim::AdamWOptions(stage.learning_rate));
}

double learning_rate_at(const StageConfig& stage, int64_t step) {
  const double peak = stage.learning_rate;
  if (step < stage.warmup_steps) return peak * static_cast<double>(step + 1) / static_cast<double>(stage.warmup_steps);
  const int64_t decay_steps = std::max<int64_t>(1, stage.steps - stage.warmup_steps - 1);
  const double progress = std::min(1.0, static_cast<double>(step - stage.warmup_steps) / decay_steps);
  const double floor = peak * stage.min_lr_ratio;
  return floor + (peak - floor) * 0.5 * (1.0 + std::cos(M_PI * progress));
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double learning_rate) {
  for (auto& group : optimizer.param_groups()) {
    static_cast<torch::optim::AdamWOptions&>(group.options()).lr(learning_rate);
  }
}

}  // namespace trol
