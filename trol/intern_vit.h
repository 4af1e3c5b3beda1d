// InternViT (InternVL's vision encoder; InternViT-300M-448px is TroL-3.8B's tower), with the
// module names of its Hugging Face code (modeling_intern_vit.py, also in the authors'
// trol/arch_phi3): embeddings.{class_embedding [1, 1, C], patch_embedding (with bias),
// position_embedding [1, 1 + g*g, C]}, encoder.layers.{i}.{attn.qkv, attn.proj, norm1, norm2,
// mlp.fc1, mlp.fc2, ls1, ls2}.
//
// Differences from CLIP that matter for loading and numerics: no LayerNorm before the blocks,
// one fused qkv projection (rows [q | k | v]), and a learned per-channel scale (layer scale
// ls1/ls2) on each residual branch:  h += ls1 * attn(norm1(h));  h += ls2 * mlp(norm2(h)).
// Only the 300M form is built (LayerNorm, no q/k normalisation); InternViT-6B's RMSNorm and
// q/k norm are refused when its config.json is read (trol/hf_config.cpp).
#pragma once

#include <torch/torch.h>

#include "trol/layer_norm.h"
#include "trol/model_config.h"

namespace trol {

class InternVisionEmbeddingsImpl : public torch::nn::Module {
 public:
  explicit InternVisionEmbeddingsImpl(const VisionConfig& config);
  torch::Tensor forward(const torch::Tensor& pixels);  // [n, c, H, W] -> [n, 1 + g*g, dim]

  torch::nn::Conv2d patch_embedding{nullptr};
  torch::Tensor class_embedding;     // [1, 1, dim]
  torch::Tensor position_embedding;  // [1, 1 + g*g, dim] at the pretrained grid

 private:
  int64_t grid_;
};
TORCH_MODULE(InternVisionEmbeddings);

class InternVisionBlockImpl : public torch::nn::Module {
 public:
  explicit InternVisionBlockImpl(const VisionConfig& config);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::Tensor attend(const torch::Tensor& x);
  torch::Tensor activation(const torch::Tensor& x) const;

  torch::nn::Linear qkv{nullptr}, proj{nullptr}, fc1{nullptr}, fc2{nullptr};
  WeightDtypeLayerNorm norm1{nullptr}, norm2{nullptr};
  torch::Tensor ls1, ls2;
  int64_t num_heads_;
  bool quick_gelu_;
};
TORCH_MODULE(InternVisionBlock);

}  // namespace trol
