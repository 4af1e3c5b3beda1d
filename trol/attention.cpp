#include "trol/attention.h"

#include <limits>
#include <stdexcept>
#include <string>

#include "trol/compat.h"

namespace trol {

torch::Tensor causal_padding_mask(const torch::Tensor& attention_mask, torch::ScalarType dtype, int64_t queries,
                                  int64_t sliding_window) {
  const int64_t seq = attention_mask.size(1);
  if (queries < 0) queries = seq;
  if (queries > seq) {
    throw std::invalid_argument("causal_padding_mask: " + std::to_string(queries) + " queries but only " +
                                std::to_string(seq) + " positions");
  }
  const auto device = attention_mask.device();
  // Query i sits at position seq - queries + i and sees keys up to it (and, under a window,
  // from W before it on).
  const auto causal = compat::causal_allowed(queries, seq, sliding_window, torch::TensorOptions().device(device));
  const auto keys = attention_mask.to(torch::kBool).unsqueeze(1).unsqueeze(2);  // [B, 1, 1, T]
  const auto allowed = causal.unsqueeze(0).unsqueeze(0).logical_and(keys);     // [B, 1, Q, T]
  auto mask = torch::zeros(allowed.sizes(), torch::TensorOptions().dtype(dtype).device(device));
  const double lowest = dtype == torch::kFloat64 ? std::numeric_limits<double>::lowest()
                                                 : (dtype == torch::kFloat32 ? std::numeric_limits<float>::lowest()
                                                                             : -65504.0 /* fp16 and bf16 both hold it */);
  return mask.masked_fill_(allowed.logical_not(), lowest);
}

AttentionImpl::AttentionImpl(const LlmConfig& config)
    : layout_(config.layout()),
      num_heads_(config.num_heads),
      num_kv_heads_(config.num_kv_heads),
      head_dim_(config.head_dim()),
      sliding_window_(config.sliding_window) {
  const int64_t qkv_rows = (num_heads_ + 2 * num_kv_heads_) * head_dim_;
  auto qkv_options = torch::nn::LinearOptions(config.hidden_size, qkv_rows).bias(config.attention_bias);
  auto out_options = torch::nn::LinearOptions(num_heads_ * head_dim_, config.hidden_size).bias(config.attention_bias);
  const bool phi3 = layout_ == LlmFamily::Phi3;
  qkv = register_module(phi3 ? "qkv_proj" : "wqkv", LoraLinear(qkv_options));
  out = register_module(phi3 ? "o_proj" : "wo", LoraLinear(out_options));
}

AttentionImpl::Projected AttentionImpl::project(const torch::Tensor& x, const torch::Tensor& adapter_mask) {
  const auto b = x.size(0), t = x.size(1);
  const auto fused = qkv(x, adapter_mask);
  torch::Tensor q, k, v;
  if (layout_ == LlmFamily::Phi3) {
    // rows: all query heads, then all key heads, then all value heads
    const auto parts = fused.split({num_heads_ * head_dim_, num_kv_heads_ * head_dim_, num_kv_heads_ * head_dim_}, -1);
    q = parts[0].view({b, t, num_heads_, head_dim_});
    k = parts[1].view({b, t, num_kv_heads_, head_dim_});
    v = parts[2].view({b, t, num_kv_heads_, head_dim_});
  } else {
    // rows per KV group: that group's query heads, then its key head, then its value head
    const int64_t groups = num_heads_ / num_kv_heads_;
    const auto packed = fused.view({b, t, num_kv_heads_, groups + 2, head_dim_});
    q = packed.narrow(3, 0, groups).reshape({b, t, num_heads_, head_dim_});
    k = packed.select(3, groups);
    v = packed.select(3, groups + 1);
  }
  return {q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)};
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, const RotaryTables& rotary,
                                     const torch::Tensor& additive_mask, const KvSlot* cache,
                                     const torch::Tensor& adapter_mask) {
  const auto b = x.size(0), t = x.size(1);
  auto p = project(x, adapter_mask);
  const auto q = apply_rotary(p.q, rotary);
  auto k = apply_rotary(p.k, rotary);
  auto v = p.v;
  auto mask = additive_mask;
  if (cache) {
    const int64_t end = cache->length + t;
    if (end > cache->keys.size(2)) {
      throw std::length_error("attention: " + std::to_string(end) + " tokens exceed the KV cache's capacity of " +
                              std::to_string(cache->keys.size(2)));
    }
    cache->keys.narrow(2, cache->length, t).copy_(k);
    cache->values.narrow(2, cache->length, t).copy_(v);
    // Keys that slid out of the window are masked for every query of this step: they are left
    // out, so a decoding step past the window reads W + 1 keys, not the whole cache.
    const int64_t first = cache->first_visible(sliding_window_);
    k = cache->keys.narrow(2, first, end - first);
    v = cache->values.narrow(2, first, end - first);
    if (mask.defined() && first > 0) mask = mask.narrow(-1, first, end - first);
  }
  // The decoder's attention is causal; an undefined mask means causality (and the window) is all
  // there is to mask.
  const auto attended = compat::scaled_dot_product_attention(q, k, v, mask, /*causal=*/!mask.defined(),
                                                             sliding_window_);  // [B, H, T, d]
  return out(attended.transpose(1, 2).reshape({b, t, num_heads_ * head_dim_}), adapter_mask);
}

}  // namespace trol
