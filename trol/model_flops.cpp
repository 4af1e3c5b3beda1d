#include "trol/model_flops.h"

namespace trol {
namespace {

bool is_on(const std::map<std::string, bool>& flags, const std::string& key) {
  const auto it = flags.find(key);
  return it != flags.end() && it->second;
}

// One pass of the ViT (class token included).
double vision_forward(const VisionConfig& v) {
  const double tokens = static_cast<double>(v.grid_size() * v.grid_size() + 1);
  const double h = static_cast<double>(v.hidden_size), f = static_cast<double>(v.intermediate_size);
  const double patch = 2.0 * (tokens - 1) * static_cast<double>(v.num_channels * v.patch_size * v.patch_size) * h;
  const double per_block = 2.0 * tokens * (4 * h * h + 2 * h * f) + 4.0 * tokens * tokens * h;
  // Blocks after the selected hidden state never run (vision_encoder.cpp).
  const int64_t blocks = v.select_layer >= 0 ? v.select_layer : v.num_layers + 1 + v.select_layer;
  return patch + static_cast<double>(blocks) * per_block;
}

}  // namespace

ForwardFlops forward_flops(const ModelConfig& config, int64_t seq_len) {
  const auto& llm = config.llm;
  const double h = static_cast<double>(llm.hidden_size), f = static_cast<double>(llm.intermediate_size);
  const double d = static_cast<double>(llm.head_dim());
  const double q = static_cast<double>(llm.num_heads) * d, kv = static_cast<double>(llm.num_kv_heads) * d;
  const double passes = static_cast<double>(llm.num_layers) * (config.trol.traversal ? 2 : 1);

  ForwardFlops out;
  out.decoder_weights = passes * 2.0 * (h * (q + 2 * kv) + q * h + 3 * h * f);
  out.decoder_attention = passes * 4.0 * static_cast<double>(seq_len) * q;
  out.gates = config.trol.traversal ? static_cast<double>(llm.num_layers) * 2.0 * h : 0.0;
  out.lm_head = 2.0 * h * static_cast<double>(llm.vocab_size);
  if (config.vision.enabled) {
    out.vision = vision_forward(config.vision);
    const double tokens = static_cast<double>(config.vision.tokens_per_image());
    out.projector = tokens * 2.0 * (static_cast<double>(config.vision.feature_size()) * h + h * h);
  }
  return out;
}

double forward_pass_flops(const ModelConfig& config, int64_t rows, int64_t seq_len, int64_t images) {
  const auto f = forward_flops(config, seq_len);
  return static_cast<double>(rows * seq_len) * f.per_position() + static_cast<double>(images) * (f.vision + f.projector);
}

double training_step_flops(const ModelConfig& config, int64_t rows, int64_t seq_len, int64_t images,
                           const std::map<std::string, bool>& trainable) {
  const auto f = forward_flops(config, seq_len);
  const double positions = static_cast<double>(rows * seq_len), n_images = static_cast<double>(images);
  const bool vision = config.vision.enabled && is_on(trainable, "vision");
  const bool projector = config.vision.enabled && is_on(trainable, "projector");
  const bool llm = is_on(trainable, "llm"), mixer = config.trol.traversal && is_on(trainable, "mixer");
  // The gradient reaches a product's input when something below it trains; all decoder
  // layers lie above the lowest gate and the image features.
  const bool through_decoder = llm || mixer || projector || vision;

  double total = forward_pass_flops(config, rows, seq_len, images);
  if (through_decoder) {
    total += positions * (f.lm_head + f.decoder_weights + 2 * f.decoder_attention + f.gates);  // input gradients
  }
  if (llm) total += positions * (f.lm_head + f.decoder_weights);  // weight gradients
  if (mixer) total += positions * f.gates;
  if (projector) total += n_images * f.projector;
  if (vision) total += n_images * (f.projector + 2 * f.vision);
  return total;
}

}  // namespace trol
