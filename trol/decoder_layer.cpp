#include "trol/decoder_layer.h"

namespace trol {

DecoderLayerImpl::DecoderLayerImpl(const LlmConfig& config) {
  const bool phi3 = config.layout() == LlmFamily::Phi3;
  attention_norm = register_module(phi3 ? "input_layernorm" : "attention_norm",
                                   RMSNorm(config.hidden_size, config.rms_norm_eps));
  attention = register_module(phi3 ? "self_attn" : "attention", Attention(config));
  mlp_norm = register_module(phi3 ? "post_attention_layernorm" : "ffn_norm",
                             RMSNorm(config.hidden_size, config.rms_norm_eps));
  mlp = register_module(phi3 ? "mlp" : "feed_forward", GatedMLP(config));
}

torch::Tensor DecoderLayerImpl::forward(const torch::Tensor& x, const RotaryTables& rotary,
                                        const torch::Tensor& additive_mask, const KvSlot* cache,
                                        const torch::Tensor& adapter_mask) {
  const auto h = x + attention(attention_norm(x), rotary, additive_mask, cache, adapter_mask);
  return h + mlp(mlp_norm(h), adapter_mask);
}

}  // namespace trol
