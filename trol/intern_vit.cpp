#include "trol/intern_vit.h"

#include "trol/compat.h"
#include "trol/vision_encoder.h"

namespace trol {

InternVisionEmbeddingsImpl::InternVisionEmbeddingsImpl(const VisionConfig& config) : grid_(config.grid_size()) {
  class_embedding = register_parameter("class_embedding", torch::randn({1, 1, config.hidden_size}) * 0.02);
  patch_embedding = register_module(
      "patch_embedding",
      torch::nn::Conv2d(torch::nn::Conv2dOptions(config.num_channels, config.hidden_size, config.patch_size)
                            .stride(config.patch_size)));
  const int64_t pretrained = config.pretrained_grid_size();
  position_embedding = register_parameter("position_embedding",
                                          torch::randn({1, pretrained * pretrained + 1, config.hidden_size}) * 0.02);
}

torch::Tensor InternVisionEmbeddingsImpl::forward(const torch::Tensor& pixels) {
  const auto patches = patch_embedding(pixels).flatten(2).transpose(1, 2);  // [n, g*g, dim]
  const auto cls = class_embedding.to(patches.scalar_type()).expand({patches.size(0), 1, patches.size(2)});
  // InternVL resizes the patch positions bicubically to the grid it runs at, as CLIP towers do.
  const auto positions = interpolate_positions(position_embedding.squeeze(0), grid_);
  return torch::cat({cls, patches}, 1) + positions.to(patches.scalar_type());
}

InternVisionBlockImpl::InternVisionBlockImpl(const VisionConfig& config)
    : num_heads_(config.num_heads), quick_gelu_(config.activation == "quick_gelu") {
  const auto d = config.hidden_size;
  auto attn = register_module("attn", std::make_shared<torch::nn::Module>());
  qkv = attn->register_module("qkv", torch::nn::Linear(d, 3 * d));
  proj = attn->register_module("proj", torch::nn::Linear(d, d));
  auto mlp = register_module("mlp", std::make_shared<torch::nn::Module>());
  fc1 = mlp->register_module("fc1", torch::nn::Linear(d, config.intermediate_size));
  fc2 = mlp->register_module("fc2", torch::nn::Linear(config.intermediate_size, d));
  auto norm_options = torch::nn::LayerNormOptions({d}).eps(config.layer_norm_eps);
  norm1 = register_module("norm1", WeightDtypeLayerNorm(norm_options));
  norm2 = register_module("norm2", WeightDtypeLayerNorm(norm_options));
  // InternVL initialises the scales to initializer_factor (0.1 in its config class).
  ls1 = register_parameter("ls1", torch::full({d}, 0.1));
  ls2 = register_parameter("ls2", torch::full({d}, 0.1));
}

torch::Tensor InternVisionBlockImpl::activation(const torch::Tensor& x) const {
  return quick_gelu_ ? x * torch::sigmoid(1.702 * x) : torch::gelu(x);
}

torch::Tensor InternVisionBlockImpl::attend(const torch::Tensor& x) {
  const auto n = x.size(0), t = x.size(1), d = x.size(2), head_dim = d / num_heads_;
  // [n, t, 3d] -> [3, n, heads, t, head_dim]: the fused rows are [q | k | v], each head-major.
  const auto parts = qkv(x).view({n, t, 3, num_heads_, head_dim}).permute({2, 0, 3, 1, 4});
  const auto attended = compat::scaled_dot_product_attention(parts[0], parts[1], parts[2], torch::Tensor());
  return proj(attended.transpose(1, 2).reshape({n, t, d}));
}

torch::Tensor InternVisionBlockImpl::forward(const torch::Tensor& x) {
  const auto h = x + attend(norm1(x)) * ls1.to(x.scalar_type());
  return h + fc2(activation(fc1(norm2(h)))) * ls2.to(x.scalar_type());
}

}  // namespace trol
