// A Linear that can carry a LoRA adapter (Hu et al., 2021): y = W x + b + (alpha / r) B A dropout(x),
// A [r, in] Kaiming-uniform and B [out, r] zero at the start, so an adapted model begins as the
// base model. The decoder's projections are LoraLinear so that `model.lora` can adapt any of
// them by name; without an adapter it is torch::nn::Linear, with the same parameter names
// (`weight`, `bias`), and the adapter adds `lora_A` and `lora_B` next to them.
// A Partial LoRA adapter (InternLM-XComposer2, which the InternLM2 flavour of TroL is built on)
// adds its update only at the positions a token mask marks: the image tokens.
#pragma once

#include <torch/torch.h>

#include "trol/model_config.h"
#include "trol/quantize.h"

namespace trol {

class LoraLinearImpl : public torch::nn::LinearImpl {
 public:
  using torch::nn::LinearImpl::LinearImpl;

  // x [batch, seq, in] -> [batch, seq, out]. `adapter_mask` [batch, seq] (bool) marks where a
  // Partial LoRA adapter applies; a partial adapter without one throws, so a caller that forgot
  // to pass it cannot go unnoticed. Other layers ignore it.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& adapter_mask = {});

  // Registers lora_A and lora_B. Throws std::logic_error when there already is one.
  void add_adapter(int64_t rank, double alpha, double dropout, bool partial = false);
  bool has_adapter() const { return lora_A.defined(); }
  bool has_partial_adapter() const { return has_adapter() && partial_; }

  // W + (alpha / r) B A: the weight a plain Linear needs to compute what this one does.
  // Throws std::logic_error for a Partial LoRA adapter, whose update depends on the position.
  torch::Tensor merged_weight() const;

  // Stores the (frozen) weight quantized, as QLoRA does (trol/quantize.h), as buffers
  // weight_nf4_{codes,block_max,block_max_scale,block_max_offset} or weight_int8{,_scale};
  // `weight` stays registered but empty, and the forward dequantizes it on the fly.
  // `from` is the full-precision weight (default: the current one).
  void quantize_base(QuantizeMode mode, const torch::Tensor& from = {});
  QuantizeMode quantized() const { return quantized_; }
  torch::Tensor base_weight() const;  // dequantized when quantized

  // LibTorch's Module::to(dtype) converts every buffer, integer ones too; the quantized codes
  // must keep their integer type, so these convert the rest and move the codes only.
  void to(torch::Device device, torch::Dtype dtype, bool non_blocking = false) override;
  void to(torch::Dtype dtype, bool non_blocking = false) override;
  using torch::nn::LinearImpl::to;

  torch::Tensor lora_A, lora_B;  // undefined without an adapter
  double scaling = 0;            // alpha / r
  double dropout = 0;            // on the adapter's input, in training

 private:
  QuantizeMode quantized_ = QuantizeMode::none;
  bool partial_ = false;
  std::vector<int64_t> base_shape_;
};
TORCH_MODULE(LoraLinear);

// Adds an adapter to every LoraLinear whose module name (e.g. model.layers.0.self_attn.qkv_proj)
// matches a glob of config.targets. Throws ConfigError naming `key` when a glob matches no
// module, or matches a module that cannot take an adapter (vision encoder, LM head, gates).
void add_lora_adapters(torch::nn::Module& model, const LoraConfig& config, const std::string& key = "model.lora.targets");

// Stores every LoraLinear's base weight of `model` quantized (model.quantize).
void quantize_base_weights(torch::nn::Module& model, QuantizeMode mode);

}  // namespace trol
