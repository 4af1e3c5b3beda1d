// The traversed decoder: the LLM body of a TroL model (Hugging Face's `model.` prefix).
//
// Holds the token embedding, the decoder layers, the final norm and the TroL gates
// (`trol_gating.{i}`, as in the authors' code). With traversal on, every layer runs twice and
// the two outputs are mixed per token (trol_mixer.h); with traversal off it is the plain decoder.
#pragma once

#include <torch/torch.h>

#include "trol/decoder_layer.h"
#include "trol/kv_cache.h"
#include "trol/model_config.h"
#include "trol/rms_norm.h"

namespace trol {

struct DecoderOutput {
  torch::Tensor hidden;       // [batch, seq, hidden], after the final norm
  torch::Tensor gate_ratios;  // [layers, batch, seq] mixing ratios w, only when asked (else undefined)
};

class DecoderImpl : public torch::nn::Module {
 public:
  DecoderImpl(const LlmConfig& llm, const TrolConfig& trol);

  // inputs_embeds [batch, seq, hidden]; attention_mask [batch, seq], 1 for real tokens.
  // `collect_gate_ratios` records w of every layer (detached, no extra forward work).
  // `adapter_mask` [batch, seq] bool: where Partial LoRA adapters apply (the image-token
  // positions); needed only when the model has them (model.lora.partial). `right_padded`: the
  // mask's zeros only follow each row's ones (ModelInputs::right_padded), so the attention can
  // run causal without a padding mask (LibTorch 2.x: its flash kernels) and give the same
  // outputs at every real token.
  DecoderOutput forward(const torch::Tensor& inputs_embeds, const torch::Tensor& attention_mask,
                        bool collect_gate_ratios = false, const torch::Tensor& adapter_mask = {},
                        bool right_padded = false);

  // Incremental decoding: `new_embeds` [batch, n, hidden] are the tokens after the `cache.length()`
  // cached ones (the whole prompt at the first call), `attention_mask` [batch, cache.length() + n]
  // covers both. Writes the new tokens' keys and values, advances the cache, and returns the
  // new tokens' hidden states. `exact` needs a cache with one pass per traversal; `released`
  // traverses only at the first call (DecodeMode). Traversal off ignores the mode.
  // `adapter_mask` [batch, n]: as in forward, for the new tokens.
  DecoderOutput forward_cached(const torch::Tensor& new_embeds, const torch::Tensor& attention_mask, KvCache& cache,
                               DecodeMode mode, bool collect_gate_ratios = false,
                               const torch::Tensor& adapter_mask = {});

  // How many cache passes decoding in `mode` needs: 2 for exact decoding of a traversed model.
  int64_t cache_passes(DecodeMode mode) const;

  // The gate used by layer `layer` (the same module for all layers when shared).
  torch::nn::Linear& gate(int64_t layer);

  // In training, keep only each TroL layer's input for backward and recompute the layer
  // (both passes and its gate) then (trol/activation_checkpoint.h).
  void set_activation_checkpointing(bool on) { activation_checkpointing_ = on; }

  torch::nn::Embedding embed{nullptr};  // phi3: embed_tokens, internlm2: tok_embeddings
  torch::nn::ModuleList layers{nullptr};
  RMSNorm norm{nullptr};
  std::vector<torch::nn::Linear> gates;  // registered as trol_gating.{i}; one entry when shared

 private:
  LlmConfig llm_;
  TrolConfig trol_;
  std::vector<DecoderLayer> layer_list_;
  bool activation_checkpointing_ = false;
};
TORCH_MODULE(Decoder);

}  // namespace trol
