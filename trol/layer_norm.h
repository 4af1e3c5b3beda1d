// LayerNorm that computes in its weights' dtype whatever its input's: what CUDA autocast does
// for layer_norm (an fp32-policy op), done by the module so that LibTorch 1.13's CPU autocast,
// which leaves layer_norm out of its lists and then fails on a bfloat16 input with float32
// weights, behaves the same. Without autocast the cast is a no-op. Parameter names are
// LayerNorm's (`weight`, `bias`), so checkpoints load unchanged.
#pragma once

#include <torch/torch.h>

namespace trol {

class WeightDtypeLayerNormImpl : public torch::nn::LayerNormImpl {
 public:
  using torch::nn::LayerNormImpl::LayerNormImpl;
  torch::Tensor forward(const torch::Tensor& x) {
    return torch::nn::LayerNormImpl::forward(x.scalar_type() == weight.scalar_type() ? x : x.to(weight.scalar_type()));
  }
};
TORCH_MODULE(WeightDtypeLayerNorm);

}  // namespace trol
