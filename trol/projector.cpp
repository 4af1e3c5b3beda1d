#include "trol/projector.h"

#include "trol/layer_norm.h"

namespace trol {

torch::nn::Sequential make_projector(const ModelConfig& config) {
  const auto in = config.vision.feature_size(), out = config.llm.hidden_size;
  auto gelu = torch::nn::Functional([](const torch::Tensor& x) { return torch::gelu(x); });
  torch::nn::Sequential projector;
  if (config.projector.type == "ln_mlp2x_gelu") {
    projector->push_back(WeightDtypeLayerNorm(torch::nn::LayerNormOptions({in})));
  }
  projector->push_back(torch::nn::Linear(in, out));
  projector->push_back(gelu);
  projector->push_back(torch::nn::Linear(out, out));
  return projector;
}

}  // namespace trol
