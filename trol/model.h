// The TroL vision-language model: vision encoder -> projector -> image features placed at the
// image-token positions of the text -> traversed decoder -> LM head -> causal LM loss.
//
// Module (= weight) names, which the Hugging Face import maps onto:
//   vision_model.*     CLIP-style ViT (vision_encoder.h), absent when vision.enabled is false
//   vision_proj.*      projector (projector.h)
//   model.*            decoder: embeddings, layers, norm, trol_gating.{i} (decoder.h)
//   lm_head / output   LM head (phi3 / internlm2), absent when tied to the embeddings
#pragma once

#include <torch/torch.h>

#include "trol/causal_lm_loss.h"
#include "trol/decoder.h"
#include "trol/model_config.h"
#include "trol/vision_encoder.h"

namespace trol {

struct ModelInputs {
  torch::Tensor input_ids;       // [batch, seq] int64, image positions hold image_token_id
  torch::Tensor attention_mask;  // [batch, seq], 1 for real tokens (left or right padding)
  torch::Tensor pixel_values;    // [images, channels, size, size], all images of the batch in reading order; may be undefined
  torch::Tensor labels;          // [batch, seq] int64 with -100 where not supervised; may be undefined
  int64_t image_positions = -1;  // image-token positions in input_ids, counted while the ids were on the
                                 // host (-1: unknown, counted from the ids: a device sync on a GPU)
  bool right_padded = false;     // padding only after each row's real tokens (the batch loader's):
                                 // causal attention alone then hides it from every real token
  // Instead of pixel_values: the vision tower's output as another implementation computed it
  // (VisionEncoderImpl::tower_output), [images, tokens, vision hidden]; may be undefined.
  torch::Tensor image_tower_output{};
};

// `inputs` with image_positions counted from its host-side input_ids (CPU tensors: no sync).
ModelInputs with_image_positions(ModelInputs inputs, int64_t image_token_id);

// The inputs on `device`; pixels also in the model's `dtype` (ids and masks stay integers).
ModelInputs to_device(const ModelInputs& inputs, torch::Device device, torch::ScalarType dtype);

struct ModelOutput {
  torch::Tensor logits;       // [batch, seq, vocab]
  LmLoss loss;                // defined when labels were given
  torch::Tensor gate_ratios;  // [layers, batch, seq] when asked and traversal is on
};

class TrolModelImpl : public torch::nn::Module {
 public:
  explicit TrolModelImpl(const ModelConfig& config);

  ModelOutput forward(const ModelInputs& inputs, bool collect_gate_ratios = false);

  // Where Partial LoRA adapters apply for these token ids [batch, seq]: the image-token
  // positions, as bool; undefined when the model has no Partial LoRA (model.lora.partial).
  torch::Tensor adapter_mask(const torch::Tensor& input_ids) const;

  // Text embeddings with image features merged in: what the decoder consumes.
  torch::Tensor embed(const ModelInputs& inputs);

  // The LM head on decoder hidden states [..., hidden] -> [..., vocab] (tied: the embedding matrix).
  torch::Tensor lm_logits(const torch::Tensor& hidden);

  // Image features in the LLM's width: [images, tokens_per_image, hidden].
  torch::Tensor encode_images(const torch::Tensor& pixel_values);
  // The same from the vision tower's output (VisionEncoderImpl::tower_output).
  torch::Tensor encode_tower_output(const torch::Tensor& tower_output);

  const ModelConfig& config() const { return config_; }

  VisionEncoder vision_model{nullptr};
  torch::nn::Sequential vision_proj{nullptr};
  Decoder model{nullptr};
  torch::nn::Linear lm_head{nullptr};  // undefined when tied

 private:
  ModelConfig config_;
};
TORCH_MODULE(TrolModel);

// Hugging Face-style initialisation: normal(0, std) for linear and embedding weights, zero
// biases, ones for norms. The TroL gates start at zero weight and bias, so w = 0.5 everywhere.
void initialize_weights(torch::nn::Module& module, double std = 0.02);

}  // namespace trol
