// One pre-norm decoder layer: x + attn(norm(x)), then + mlp(norm(.)).
// Under TroL the same layer (same weights) is applied twice per forward; see decoder.h.
#pragma once

#include <torch/torch.h>

#include "trol/attention.h"
#include "trol/gated_mlp.h"
#include "trol/model_config.h"
#include "trol/rms_norm.h"

namespace trol {

class DecoderLayerImpl : public torch::nn::Module {
 public:
  explicit DecoderLayerImpl(const LlmConfig& config);
  // `cache` and `adapter_mask`: see AttentionImpl::forward.
  torch::Tensor forward(const torch::Tensor& x, const RotaryTables& rotary, const torch::Tensor& additive_mask,
                        const KvSlot* cache = nullptr, const torch::Tensor& adapter_mask = {});

  RMSNorm attention_norm{nullptr};  // phi3: input_layernorm,          internlm2: attention_norm
  Attention attention{nullptr};     // phi3: self_attn,                internlm2: attention
  RMSNorm mlp_norm{nullptr};        // phi3: post_attention_layernorm, internlm2: ffn_norm
  GatedMLP mlp{nullptr};            // phi3: mlp,                      internlm2: feed_forward
};
TORCH_MODULE(DecoderLayer);

}  // namespace trol
