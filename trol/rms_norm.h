// RMSNorm as in Llama, Phi-3 and InternLM2: normalised in float32, scaled by a learned weight.
#pragma once

#include <torch/torch.h>

namespace trol {

class RMSNormImpl : public torch::nn::Module {
 public:
  RMSNormImpl(int64_t dim, double eps);
  torch::Tensor forward(const torch::Tensor& x);

  torch::Tensor weight;

 private:
  double eps_;
};
TORCH_MODULE(RMSNorm);

}  // namespace trol
