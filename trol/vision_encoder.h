// The ViT image encoder: CLIP's (vision.architecture: clip; Hugging Face CLIPVisionModel module
// names: embeddings.{patch_embedding,class_embedding,position_embedding}, pre_layrnorm,
// encoder.layers.{i}.{self_attn.{q,k,v,out}_proj, layer_norm1, mlp.fc1, mlp.fc2, layer_norm2})
// or InternViT's (vision.architecture: internvit; trol/intern_vit.h).
//
// Returns the hidden state chosen by `select_layer` (without the class token when asked),
// optionally pixel-shuffled InternViT-style to a quarter of the tokens at four times the width.
#pragma once

#include <torch/torch.h>

#include "trol/layer_norm.h"
#include "trol/model_config.h"

namespace trol {

// Resizes a ViT position table [1 + g*g, dim] (class position first) to [1 + n*n, dim] by
// bicubic interpolation of the patch grid (align_corners = false), as CLIP-based LLaVA-style
// models do to run at a higher resolution (TroL-1.8B/7B: 24 -> 35 per side).
torch::Tensor interpolate_positions(const torch::Tensor& table, int64_t new_grid);

// InternVL's pixel shuffle (version 2) of a square token grid: [n, g*g, c] -> [n, (g/2)^2, 4c].
torch::Tensor pixel_shuffle(const torch::Tensor& tokens, double scale = 0.5);

class VisionEmbeddingsImpl : public torch::nn::Module {
 public:
  explicit VisionEmbeddingsImpl(const VisionConfig& config);
  torch::Tensor forward(const torch::Tensor& pixels);  // [n, c, H, W] -> [n, 1 + g*g, dim]

  torch::nn::Conv2d patch_embedding{nullptr};
  torch::Tensor class_embedding;
  torch::nn::Embedding position_embedding{nullptr};  // the table at the pretrained grid

 private:
  int64_t grid_;
};
TORCH_MODULE(VisionEmbeddings);

class VisionBlockImpl : public torch::nn::Module {
 public:
  explicit VisionBlockImpl(const VisionConfig& config);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::Tensor attend(const torch::Tensor& x);
  torch::Tensor activation(const torch::Tensor& x) const;

  WeightDtypeLayerNorm layer_norm1{nullptr}, layer_norm2{nullptr};
  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, out_proj{nullptr};
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
  int64_t num_heads_;
  bool quick_gelu_;
};
TORCH_MODULE(VisionBlock);

class VisionEncoderImpl : public torch::nn::Module {
 public:
  explicit VisionEncoderImpl(const VisionConfig& config);

  // pixels [images, channels, size, size] -> features [images, tokens_per_image, feature_size];
  // the same as from_tower_output(tower_output(pixels)).
  torch::Tensor forward(const torch::Tensor& pixels);

  // What the authors' code takes from the tower, so that another implementation's tower can be
  // fed to the rest of trol's model (trol forward --image-features):
  //   InternViT: the selected hidden state with its class token [images, 1 + g*g, hidden]
  //              (InternVL's extract_feature reads last_hidden_state and drops the class token after);
  //   CLIP:      the selected hidden state as LLaVA's feature_select returns it, the class token
  //              already dropped when drop_class_token ("patch"): [images, g*g, hidden].
  torch::Tensor tower_output(const torch::Tensor& pixels);
  // [images, tower_output_tokens(), hidden] -> features; throws std::invalid_argument naming the
  // expected and the given shape.
  torch::Tensor from_tower_output(const torch::Tensor& tower_output);
  bool tower_output_has_class_token() const;
  int64_t tower_output_tokens() const;

  // Hidden state 0 (the input of block 0: CLIP's after its pre_layrnorm), and block k's output
  // for its input: forward() is these, then the selection, class-token drop and pixel shuffle.
  torch::Tensor embed(const torch::Tensor& pixels);
  torch::Tensor block(int64_t k, const torch::Tensor& hidden);

 private:
  VisionConfig config_;
  torch::nn::AnyModule embeddings_;
  WeightDtypeLayerNorm pre_layrnorm_{nullptr};  // CLIP only
  std::vector<torch::nn::AnyModule> blocks_;
};
TORCH_MODULE(VisionEncoder);

}  // namespace trol
