// The SiLU-gated MLP of Llama-family decoders: down(silu(gate(x)) * up(x)).
// Phi-3 fuses gate and up into one matrix (rows [gate | up]); InternLM2 keeps w1 (gate),
// w3 (up) and w2 (down) apart. Both are kept as stored so real weights load without copies.
#pragma once

#include <torch/torch.h>

#include "trol/lora_linear.h"
#include "trol/model_config.h"

namespace trol {

class GatedMLPImpl : public torch::nn::Module {
 public:
  explicit GatedMLPImpl(const LlmConfig& config);
  // `adapter_mask` [batch, seq] bool: where Partial LoRA adapters apply (LoraLinearImpl::forward).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& adapter_mask = {});

  LoraLinear gate_up{nullptr};  // phi3 only: gate_up_proj
  LoraLinear gate{nullptr};     // internlm2 only: w1
  LoraLinear up{nullptr};       // internlm2 only: w3
  LoraLinear down{nullptr};     // phi3: down_proj, internlm2: w2
};
TORCH_MODULE(GatedMLP);

}  // namespace trol
