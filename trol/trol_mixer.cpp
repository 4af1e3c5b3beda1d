#include "trol/trol_mixer.h"

namespace trol {

torch::Tensor trol_gate_ratio(torch::nn::Linear& gate, const torch::Tensor& h1) {
  return 0.5 * torch::tanh(gate(h1)) + 0.5;
}

torch::Tensor trol_mix(const torch::Tensor& h1, const torch::Tensor& h2, const torch::Tensor& w) {
  return torch::lerp(h1, h2, w);
}

}  // namespace trol
