#include "trol/decoder.h"

#include "trol/compat.h"

#include <stdexcept>
#include <string>

#include "trol/activation_checkpoint.h"
#include "trol/attention.h"
#include "trol/rotary.h"
#include "trol/trol_mixer.h"

namespace trol {

DecoderImpl::DecoderImpl(const LlmConfig& llm, const TrolConfig& trol) : llm_(llm), trol_(trol) {
  const bool phi3 = llm.layout() == LlmFamily::Phi3;
  embed = register_module(phi3 ? "embed_tokens" : "tok_embeddings", torch::nn::Embedding(llm.embedding_rows(), llm.hidden_size));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < llm.num_layers; ++i) {
    layer_list_.push_back(DecoderLayer(llm));
    layers->push_back(layer_list_.back());
  }
  norm = register_module("norm", RMSNorm(llm.hidden_size, llm.rms_norm_eps));
  // Gates exist even with traversal off, so one checkpoint layout serves both ablation arms.
  auto gating = register_module("trol_gating", torch::nn::ModuleList());
  const int64_t num_gates = trol.shared_gate ? 1 : llm.num_layers;
  for (int64_t i = 0; i < num_gates; ++i) {
    gates.push_back(torch::nn::Linear(llm.hidden_size, 1));
    gating->push_back(gates.back());
  }
}

torch::nn::Linear& DecoderImpl::gate(int64_t layer) { return gates[trol_.shared_gate ? 0 : layer]; }

DecoderOutput DecoderImpl::forward(const torch::Tensor& inputs_embeds, const torch::Tensor& attention_mask,
                                   bool collect_gate_ratios, const torch::Tensor& adapter_mask, bool right_padded) {
  const auto dtype = inputs_embeds.scalar_type();
  const auto rotary = rotary_tables(positions_from_mask(attention_mask), llm_, attention_mask.size(1), dtype);
  // Without a mask the attention is causal only (AttentionImpl, which adds the sliding window):
  // no [B, 1, T, T] tensor to build and keep for backward, and LibTorch 2.x's flash kernels.
  // 1.13 keeps the mask its kernels take.
  const auto mask = right_padded && compat::kCausalAttentionWithoutMask
                        ? torch::Tensor()
                        : causal_padding_mask(attention_mask, dtype, -1, llm_.sliding_window);

  std::vector<torch::Tensor> ratios;
  torch::Tensor h = inputs_embeds;
  const bool recompute = activation_checkpointing_ && is_training() && torch::GradMode::is_enabled();
  for (size_t i = 0; i < layer_list_.size(); ++i) {
    auto layer = layer_list_[i];
    auto layer_gate = gate(static_cast<int64_t>(i));
    // One TroL layer: {x} -> {output, mixing ratio w (traversal only)}. It captures by value:
    // a checkpointed layer runs again in backward, after this function has returned.
    auto trol_layer = [layer, layer_gate, rotary, mask, adapter_mask,
                       traversal = trol_.traversal](const std::vector<torch::Tensor>& x) mutable
        -> std::vector<torch::Tensor> {
      const auto h1 = layer(x[0], rotary, mask, nullptr, adapter_mask);
      if (!traversal) return {h1};
      const auto h2 = layer(h1, rotary, mask, nullptr, adapter_mask);  // the same layer, traversed again
      const auto w = trol_gate_ratio(layer_gate, h1);
      return {trol_mix(h1, h2, w), w};
    };
    std::vector<torch::Tensor> out;
    if (recompute) {
      std::vector<torch::Tensor> parameters;
      for (const auto& p : layer->parameters()) {
        if (p.requires_grad()) parameters.push_back(p);
      }
      if (trol_.traversal) {
        for (const auto& p : layer_gate->parameters()) {
          if (p.requires_grad()) parameters.push_back(p);
        }
      }
      out = checkpointed(trol_layer, {h}, parameters);
    } else {
      out = trol_layer({h});
    }
    h = out[0];
    if (collect_gate_ratios && out.size() > 1) ratios.push_back(out[1].detach().squeeze(-1));
  }
  DecoderOutput out{norm(h), {}};
  if (collect_gate_ratios && !ratios.empty()) out.gate_ratios = torch::stack(ratios);
  return out;
}

int64_t DecoderImpl::cache_passes(DecodeMode mode) const {
  return trol_.traversal && mode == DecodeMode::exact ? 2 : 1;
}

DecoderOutput DecoderImpl::forward_cached(const torch::Tensor& new_embeds, const torch::Tensor& attention_mask,
                                          KvCache& cache, DecodeMode mode, bool collect_gate_ratios,
                                          const torch::Tensor& adapter_mask) {
  const int64_t past = cache.length(), n = new_embeds.size(1);
  if (attention_mask.dim() != 2 || attention_mask.size(0) != new_embeds.size(0) || attention_mask.size(1) != past + n) {
    throw std::invalid_argument("forward_cached: attention_mask " + c10::str(attention_mask.sizes()) + " must be [" +
                                std::to_string(new_embeds.size(0)) + ", " + std::to_string(past + n) +
                                "] (cached plus new tokens)");
  }
  if (cache.passes() < cache_passes(mode)) {
    throw std::invalid_argument("forward_cached: " + decode_mode_name(mode) + " decoding of a traversed model needs " +
                                std::to_string(cache_passes(mode)) + " cache passes, the cache has " +
                                std::to_string(cache.passes()));
  }
  const auto dtype = new_embeds.scalar_type();
  const auto positions = positions_from_mask(attention_mask).narrow(1, past, n);
  const auto rotary = rotary_tables(positions, llm_, attention_mask.size(1), dtype);
  const auto mask = causal_padding_mask(attention_mask, dtype, n, llm_.sliding_window);
  // Released decoding traverses the prompt only; its second pass attends over the prompt with
  // its own keys, so it needs no cache (and the prompt is the first call: past == 0).
  const bool traverse = trol_.traversal && (mode == DecodeMode::exact || past == 0);

  std::vector<torch::Tensor> ratios;
  torch::Tensor h = new_embeds;
  for (size_t i = 0; i < layer_list_.size(); ++i) {
    auto& layer = layer_list_[i];
    const auto layer_index = static_cast<int64_t>(i);
    const auto first = cache.slot(layer_index, 0);
    const auto h1 = layer(h, rotary, mask, &first, adapter_mask);
    if (!traverse) {
      h = h1;
      continue;
    }
    torch::Tensor h2;
    if (mode == DecodeMode::exact) {
      const auto second = cache.slot(layer_index, 1);
      h2 = layer(h1, rotary, mask, &second, adapter_mask);
    } else {
      h2 = layer(h1, rotary, mask, nullptr, adapter_mask);
    }
    const auto w = trol_gate_ratio(gate(layer_index), h1);
    if (collect_gate_ratios) ratios.push_back(w.detach().squeeze(-1));
    h = trol_mix(h1, h2, w);
  }
  cache.advance(n);
  DecoderOutput out{norm(h), {}};
  if (collect_gate_ratios && !ratios.empty()) out.gate_ratios = torch::stack(ratios);
  return out;
}

}  // namespace trol
