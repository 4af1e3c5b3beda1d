#include "trol/decoder.h"

#include "trol/attention.h"
#include "trol/rotary.h"
#include "trol/trol_mixer.h"

namespace trol {

DecoderImpl::DecoderImpl(const LlmConfig& llm, const TrolConfig& trol) : llm_(llm), trol_(trol) {
  const bool phi3 = llm.layout() == LlmFamily::Phi3;
  embed = register_module(phi3 ? "embed_tokens" : "tok_embeddings", torch::nn::Embedding(llm.vocab_size, llm.hidden_size));
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
                                   bool collect_gate_ratios) {
  const auto dtype = inputs_embeds.scalar_type();
  const auto rotary = rotary_tables(positions_from_mask(attention_mask), llm_.head_dim(), llm_.rope_theta, dtype);
  const auto mask = causal_padding_mask(attention_mask, dtype);

  std::vector<torch::Tensor> ratios;
  torch::Tensor h = inputs_embeds;
  for (size_t i = 0; i < layer_list_.size(); ++i) {
    auto& layer = layer_list_[i];
    const auto h1 = layer(h, rotary, mask);
    if (!trol_.traversal) {
      h = h1;
      continue;
    }
    const auto h2 = layer(h1, rotary, mask);  // the same layer, traversed again
    const auto w = trol_gate_ratio(gate(static_cast<int64_t>(i)), h1);
    if (collect_gate_ratios) ratios.push_back(w.detach().squeeze(-1));
    h = trol_mix(h1, h2, w);
  }
  DecoderOutput out{norm(h), {}};
  if (collect_gate_ratios && !ratios.empty()) out.gate_ratios = torch::stack(ratios);
  return out;
}

}  // namespace trol
