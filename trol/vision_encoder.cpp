#include "trol/vision_encoder.h"

#include <stdexcept>

#include "trol/compat.h"
#include "trol/intern_vit.h"

namespace trol {

torch::Tensor interpolate_positions(const torch::Tensor& table, int64_t new_grid) {
  const int64_t dim = table.size(1);
  const auto old_grid = static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(table.size(0) - 1))));
  if (old_grid * old_grid + 1 != table.size(0)) {
    throw std::invalid_argument("position table of " + std::to_string(table.size(0)) +
                                " rows is not 1 + a square grid");
  }
  const auto class_position = table.narrow(0, 0, 1);
  // Interpolated in at least float32: CPU bicubic has no bf16/fp16 kernel in LibTorch 1.13.
  const auto grid = table.narrow(0, 1, old_grid * old_grid)
                        .to(torch::promote_types(table.scalar_type(), torch::kFloat32))
                        .reshape({1, old_grid, old_grid, dim})
                        .permute({0, 3, 1, 2});
  namespace F = torch::nn::functional;
  const auto resized = F::interpolate(grid, F::InterpolateFuncOptions()
                                                .size(std::vector<int64_t>{new_grid, new_grid})
                                                .mode(torch::kBicubic)
                                                .align_corners(false));
  const auto patches = resized.permute({0, 2, 3, 1}).reshape({new_grid * new_grid, dim}).to(table.scalar_type());
  return torch::cat({class_position, patches}, 0);
}

torch::Tensor pixel_shuffle(const torch::Tensor& tokens, double scale) {
  const int64_t n = tokens.size(0), c = tokens.size(2);
  const auto g = static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(tokens.size(1)))));
  const auto s = static_cast<int64_t>(std::lround(g * scale));
  const auto wide = static_cast<int64_t>(std::lround(c / scale));
  // The same view/permute sequence as InternVL's pixel_shuffle (ps_version v2), so that
  // channel order matches the released projector weights.
  auto x = tokens.reshape({n, g, g, c});
  x = x.reshape({n, g, s, wide}).permute({0, 2, 1, 3}).contiguous();
  x = x.reshape({n, s, s, static_cast<int64_t>(std::lround(c / (scale * scale)))}).permute({0, 2, 1, 3}).contiguous();
  return x.reshape({n, s * s, x.size(3)});
}

VisionEmbeddingsImpl::VisionEmbeddingsImpl(const VisionConfig& config) : grid_(config.grid_size()) {
  patch_embedding = register_module(
      "patch_embedding",
      torch::nn::Conv2d(torch::nn::Conv2dOptions(config.num_channels, config.hidden_size, config.patch_size)
                            .stride(config.patch_size)
                            .bias(false)));
  class_embedding = register_parameter("class_embedding", torch::randn({config.hidden_size}) * 0.02);
  const int64_t pretrained = config.pretrained_grid_size();
  position_embedding = register_module("position_embedding",
                                       torch::nn::Embedding(pretrained * pretrained + 1, config.hidden_size));
}

torch::Tensor VisionEmbeddingsImpl::forward(const torch::Tensor& pixels) {
  const auto patches = patch_embedding(pixels).flatten(2).transpose(1, 2);  // [n, g*g, dim]
  const auto cls = class_embedding.to(patches.scalar_type()).expand({patches.size(0), 1, patches.size(2)});
  const auto positions = interpolate_positions(position_embedding->weight, grid_);
  return torch::cat({cls, patches}, 1) + positions.to(patches.scalar_type());
}

VisionBlockImpl::VisionBlockImpl(const VisionConfig& config)
    : num_heads_(config.num_heads), quick_gelu_(config.activation == "quick_gelu") {
  const auto d = config.hidden_size;
  auto norm_options = torch::nn::LayerNormOptions({d}).eps(config.layer_norm_eps);
  // Registration order and names follow HF CLIPEncoderLayer.
  auto self_attn = register_module("self_attn", std::make_shared<torch::nn::Module>());
  k_proj = self_attn->register_module("k_proj", torch::nn::Linear(d, d));
  v_proj = self_attn->register_module("v_proj", torch::nn::Linear(d, d));
  q_proj = self_attn->register_module("q_proj", torch::nn::Linear(d, d));
  out_proj = self_attn->register_module("out_proj", torch::nn::Linear(d, d));
  layer_norm1 = register_module("layer_norm1", WeightDtypeLayerNorm(norm_options));
  auto mlp = register_module("mlp", std::make_shared<torch::nn::Module>());
  fc1 = mlp->register_module("fc1", torch::nn::Linear(d, config.intermediate_size));
  fc2 = mlp->register_module("fc2", torch::nn::Linear(config.intermediate_size, d));
  layer_norm2 = register_module("layer_norm2", WeightDtypeLayerNorm(norm_options));
}

torch::Tensor VisionBlockImpl::activation(const torch::Tensor& x) const {
  return quick_gelu_ ? x * torch::sigmoid(1.702 * x) : torch::gelu(x);
}

torch::Tensor VisionBlockImpl::attend(const torch::Tensor& x) {
  const auto n = x.size(0), t = x.size(1), d = x.size(2), head_dim = d / num_heads_;
  auto heads = [&](const torch::Tensor& y) { return y.view({n, t, num_heads_, head_dim}).transpose(1, 2); };
  // No mask: every image token sees every other.
  const auto attended =
      compat::scaled_dot_product_attention(heads(q_proj(x)), heads(k_proj(x)), heads(v_proj(x)), torch::Tensor());
  return out_proj(attended.transpose(1, 2).reshape({n, t, d}));
}

torch::Tensor VisionBlockImpl::forward(const torch::Tensor& x) {
  const auto h = x + attend(layer_norm1(x));
  return h + fc2(activation(fc1(layer_norm2(h))));
}

VisionEncoderImpl::VisionEncoderImpl(const VisionConfig& config) : config_(config) {
  const bool clip = config.architecture == "clip";
  // Registration order follows each family's Hugging Face module, so names and listings match.
  if (clip) {
    embeddings_ = torch::nn::AnyModule(register_module("embeddings", VisionEmbeddings(config)));
    pre_layrnorm_ = register_module(  // sic: the Hugging Face CLIP name
        "pre_layrnorm",
        WeightDtypeLayerNorm(torch::nn::LayerNormOptions({config.hidden_size}).eps(config.layer_norm_eps)));
  } else {
    embeddings_ = torch::nn::AnyModule(register_module("embeddings", InternVisionEmbeddings(config)));
  }
  auto encoder = register_module("encoder", std::make_shared<torch::nn::Module>());
  auto layers = encoder->register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < config.num_layers; ++i) {
    blocks_.push_back(clip ? torch::nn::AnyModule(VisionBlock(config)) : torch::nn::AnyModule(InternVisionBlock(config)));
    layers->push_back(blocks_.back().ptr());
  }
}

torch::Tensor VisionEncoderImpl::embed(const torch::Tensor& pixels) {
  auto h = embeddings_.forward(pixels);
  return pre_layrnorm_ ? pre_layrnorm_(h) : h;
}

torch::Tensor VisionEncoderImpl::block(int64_t k, const torch::Tensor& hidden) { return blocks_.at(k).forward(hidden); }

torch::Tensor VisionEncoderImpl::forward(const torch::Tensor& pixels) { return from_tower_output(tower_output(pixels)); }

bool VisionEncoderImpl::tower_output_has_class_token() const {
  return config_.architecture == "internvit" || !config_.drop_class_token;
}

int64_t VisionEncoderImpl::tower_output_tokens() const {
  return config_.grid_size() * config_.grid_size() + (tower_output_has_class_token() ? 1 : 0);
}

torch::Tensor VisionEncoderImpl::from_tower_output(const torch::Tensor& tower_output) {
  if (tower_output.dim() != 3 || tower_output.size(1) != tower_output_tokens() ||
      tower_output.size(2) != config_.hidden_size) {
    const auto grid = std::to_string(config_.grid_size());
    throw std::invalid_argument(
        "the vision tower's output must be [images, " + std::to_string(tower_output_tokens()) + ", " +
        std::to_string(config_.hidden_size) + "] (" + (tower_output_has_class_token() ? "the class token and " : "") +
        grid + "x" + grid + " patches of width " + std::to_string(config_.hidden_size) + ", " + config_.architecture +
        " at " + std::to_string(config_.image_size) + " px), got " + c10::str(tower_output.sizes()));
  }
  auto h = tower_output;
  if (config_.drop_class_token && tower_output_has_class_token()) h = h.narrow(1, 1, h.size(1) - 1);
  if (config_.downsample_ratio != 1.0) h = pixel_shuffle(h, config_.downsample_ratio);
  return h;
}

torch::Tensor VisionEncoderImpl::tower_output(const torch::Tensor& pixels) {
  const int64_t size = config_.image_size;
  if (pixels.dim() != 4 || pixels.size(1) != config_.num_channels || pixels.size(2) != size || pixels.size(3) != size) {
    throw std::invalid_argument("vision encoder expects pixels [images, " + std::to_string(config_.num_channels) + ", " +
                                std::to_string(size) + ", " + std::to_string(size) + "], got " +
                                c10::str(pixels.sizes()));
  }
  // Hidden state k is the output of block k (0: the embeddings, after CLIP's pre_layrnorm), as in HF.
  const int64_t n = config_.num_layers;
  const int64_t wanted = config_.select_layer >= 0 ? config_.select_layer : n + 1 + config_.select_layer;
  auto h = embed(pixels);
  for (int64_t k = 0; k < wanted; ++k) h = block(k, h);  // later blocks cannot affect the output
  if (config_.drop_class_token && !tower_output_has_class_token()) h = h.narrow(1, 1, h.size(1) - 1);
  return h;
}

}  // namespace trol
