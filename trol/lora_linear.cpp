#include "trol/lora_linear.h"

#include "trol/config_reader.h"

#include <fnmatch.h>

#include <cmath>
#include <stdexcept>

namespace trol {

torch::Tensor LoraLinearImpl::forward(const torch::Tensor& x) {
  auto y = torch::nn::LinearImpl::forward(x);
  if (!has_adapter()) return y;
  const auto input = dropout > 0 && is_training() ? torch::dropout(x, dropout, /*train=*/true) : x;
  // (x A^T) B^T: two thin products, never the full [out, in] update.
  return y + torch::nn::functional::linear(torch::nn::functional::linear(input, lora_A), lora_B) * scaling;
}

void LoraLinearImpl::add_adapter(int64_t rank, double alpha, double dropout_probability) {
  if (has_adapter()) throw std::logic_error("LoraLinear: this layer already has an adapter");
  if (rank < 1) throw std::invalid_argument("LoRA rank must be at least 1");
  const auto in = weight.size(1), out = weight.size(0);
  const auto options = weight.options().requires_grad(false);  // register_parameter makes them trainable
  // As PEFT initialises A: Kaiming-uniform with a = sqrt(5), i.e. U(-1/sqrt(in), 1/sqrt(in)).
  const double bound = 1.0 / std::sqrt(static_cast<double>(in));
  lora_A = register_parameter("lora_A", torch::empty({rank, in}, options).uniform_(-bound, bound));
  lora_B = register_parameter("lora_B", torch::zeros({out, rank}, options));
  scaling = alpha / static_cast<double>(rank);
  dropout = dropout_probability;
}

void add_lora_adapters(torch::nn::Module& model, const LoraConfig& config, const std::string& key) {
  for (const auto& pattern : config.targets) {
    size_t adapted = 0;
    for (const auto& item : model.named_modules("", /*include_self=*/false)) {
      if (fnmatch(pattern.c_str(), item.key().c_str(), 0) != 0) continue;
      auto* linear = dynamic_cast<LoraLinearImpl*>(item.value().get());
      if (linear == nullptr) {
        // Parents of matching names (e.g. "model.layers.0" for "model.layers.*") are not targets.
        continue;
      }
      if (!linear->has_adapter()) linear->add_adapter(config.rank, config.alpha, config.dropout);
      ++adapted;
    }
    if (adapted == 0) {
      throw ConfigError(key + ": '" + pattern +
                        "' names no decoder projection (adaptable: phi3 model.layers.<i>.self_attn.{qkv_proj,o_proj}, "
                        "model.layers.<i>.mlp.{gate_up_proj,down_proj}; internlm2 model.layers.<i>.attention.{wqkv,wo}, "
                        "model.layers.<i>.feed_forward.{w1,w2,w3})");
    }
  }
}

torch::Tensor LoraLinearImpl::merged_weight() const {
  torch::NoGradGuard no_grad;
  if (!has_adapter()) return weight.detach().clone();
  return weight.detach() + torch::matmul(lora_B.detach(), lora_A.detach()) * scaling;
}

}  // namespace trol
