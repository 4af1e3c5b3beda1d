// Causal self-attention with grouped-query heads and the fused QKV layouts of the two
// TroL backbones, so their weights load as they are (see LlmFamily in model_config.h).
#pragma once

#include <torch/torch.h>

#include "trol/kv_cache.h"
#include "trol/lora_linear.h"
#include "trol/model_config.h"
#include "trol/rotary.h"

namespace trol {

// The additive mask for a causal, padded batch: [batch, 1, queries, seq], 0 where a query may
// attend and the dtype's lowest finite value elsewhere (finite, so fully-masked padding rows
// give a uniform softmax instead of NaN). `attention_mask` [batch, seq] is 1 for real tokens;
// the queries are its last `queries` positions (all of them when -1), as when new tokens
// attend to a cache holding the ones before. With `sliding_window` W > 0 the query at index i
// sees only the keys at i - W .. i (LlmConfig::sliding_window); indices count padding, which
// sits before or after a row's tokens, so the distance between two real tokens is the same.
torch::Tensor causal_padding_mask(const torch::Tensor& attention_mask, torch::ScalarType dtype, int64_t queries = -1,
                                  int64_t sliding_window = 0);

class AttentionImpl : public torch::nn::Module {
 public:
  explicit AttentionImpl(const LlmConfig& config);

  // x [batch, seq, hidden] -> [batch, seq, hidden]. With a cache slot, x holds the tokens after
  // the cached ones: their keys and values are written into the slot at [length, length + seq)
  // and the queries attend over [0, length + seq) (`additive_mask` [batch, 1, seq, length + seq]),
  // or, under a sliding window, over the part of it the first query still sees. A defined
  // `additive_mask` holds the sliding window (causal_padding_mask); an undefined one means
  // causal attention, windowed here.
  // `adapter_mask` [batch, seq] bool: where Partial LoRA adapters apply (LoraLinearImpl::forward).
  torch::Tensor forward(const torch::Tensor& x, const RotaryTables& rotary, const torch::Tensor& additive_mask,
                        const KvSlot* cache = nullptr, const torch::Tensor& adapter_mask = {});

  // Query [batch, heads, seq, d] and key/value [batch, kv_heads, seq, d], before rotary.
  struct Projected {
    torch::Tensor q, k, v;
  };
  Projected project(const torch::Tensor& x, const torch::Tensor& adapter_mask = {});

  LoraLinear qkv{nullptr};  // phi3: qkv_proj, internlm2: wqkv
  LoraLinear out{nullptr};  // phi3: o_proj,   internlm2: wo

 private:
  LlmFamily layout_;
  int64_t num_heads_, num_kv_heads_, head_dim_;
  int64_t sliding_window_;
};
TORCH_MODULE(Attention);

}  // namespace trol
