#include "trol/gated_mlp.h"

#include "trol/fused_cpu_ops.h"

namespace trol {

GatedMLPImpl::GatedMLPImpl(const LlmConfig& config) {
  const auto h = config.hidden_size, f = config.intermediate_size;
  if (config.layout() == LlmFamily::Phi3) {
    gate_up = register_module("gate_up_proj", LoraLinear(torch::nn::LinearOptions(h, 2 * f).bias(false)));
    down = register_module("down_proj", LoraLinear(torch::nn::LinearOptions(f, h).bias(false)));
  } else {
    gate = register_module("w1", LoraLinear(torch::nn::LinearOptions(h, f).bias(false)));
    up = register_module("w3", LoraLinear(torch::nn::LinearOptions(h, f).bias(false)));
    down = register_module("w2", LoraLinear(torch::nn::LinearOptions(f, h).bias(false)));
  }
}

torch::Tensor GatedMLPImpl::forward(const torch::Tensor& x, const torch::Tensor& adapter_mask) {
  if (gate_up) {
    const auto fused = gate_up(x, adapter_mask);
    if (fused_cpu_applies(fused)) return down(fused_silu_gate(fused), adapter_mask);
    const auto parts = fused.chunk(2, -1);
    return down(torch::silu(parts[0]) * parts[1], adapter_mask);
  }
  return down(torch::silu(gate(x, adapter_mask)) * up(x, adapter_mask), adapter_mask);
}

}  // namespace trol
