#include "trol/trol_mixer.h"

namespace trol {

torch::Tensor trol_gate_ratio(torch::nn::Linear& gate, const torch::Tensor& h1) {
  return 0.5 * torch::tanh(gate(h1)) + 0.5;
}

torch::Tensor trol_mix(const torch::Tensor& h1, const torch::Tensor& h2, const torch::Tensor& w) {
  // Under autocast the gate's ratio comes out of a low-precision product while the residual
  // stream stays float32; lerp wants one dtype, and mixing in the stream's keeps its precision.
  const auto dtype = h1.scalar_type();
  return torch::lerp(h1, h2.to(dtype), w.to(dtype));
}

}  // namespace trol
