// The typed configuration of a TroL vision-language model.
//
// Plain structs with defaults and one comment per field, read from the `model:` section of a
// YAML recipe (and, for real backbones, from Hugging Face config.json files). Defaults are
// the tiny embedded model; the released sizes live in configs/.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace YAML {
class Node;
}

namespace trol {

class ConfigReader;

// How a backbone stores its fused projections; decides the module (= weight) names too.
//   phi3:      self_attn.qkv_proj rows [q | k | v], mlp.gate_up_proj rows [gate | up]
//   internlm2: attention.wqkv packed per KV group [q_0..q_{g-1}, k, v] per group,
//              feed_forward.w1 (gate) / w3 (up) / w2 (down)
enum class LlmFamily { Phi3, InternLM2 };

// Phi-3's long-context RoPE ("longrope", "su" in early configs): every frequency divided by a
// per-frequency factor, the short list while the longest position of a forward call is within
// original_max_position_embeddings and the long list beyond, and cos/sin scaled by
// sqrt(1 + ln(max_position_embeddings / original) / ln(original)).
// InternLM2's "dynamic" NTK scaling: while a forward call's key length L (cached plus new tokens,
// padding included) exceeds max_position_embeddings M, that call's tokens are rotated with the base
// rope_theta * (factor * L / M - (factor - 1))^(head_dim / (head_dim - 2)); cached keys keep the
// rotation of the call that cached them (trol/rotary.h).
struct RopeScaling {
  std::string type = "none";               // none | longrope | dynamic
  double factor = 1.0;                     // dynamic: the config's rope_scaling.factor
  std::vector<double> short_factor;        // head_dim / 2 factors
  std::vector<double> long_factor;         // head_dim / 2 factors
  int64_t original_max_position_embeddings = 0;  // the length the model was pretrained at
};

struct LlmConfig {
  std::string family = "phi3";        // phi3 | internlm2: fused layout and weight names
  int64_t vocab_size = 512;           // tokens the LM head predicts (its rows, the logits' columns)
  int64_t extra_embedding_rows = 0;   // rows of the token embedding past vocab_size that no logit
                                      // predicts: 1 in the TroL InternLM2 code (TroL-1.8B/7B), whose
                                      // nn.Embedding(vocab_size + 1) holds the image token last
  int64_t hidden_size = 128;          // model width
  int64_t num_layers = 4;             // decoder layers (each traversed twice under TroL)
  int64_t num_heads = 4;              // query heads; head_dim = hidden_size / num_heads
  int64_t num_kv_heads = 2;           // key/value heads (grouped-query attention)
  int64_t intermediate_size = 384;    // width of the SiLU-gated MLP
  double rope_theta = 10000.0;        // rotary base (1e6 for InternLM2, 1e4 for Phi-3)
  RopeScaling rope_scaling;           // none, or Phi-3's longrope (the 128k-context variants)
  double rms_norm_eps = 1e-6;         // epsilon inside RMSNorm
  int64_t max_position_embeddings = 2048;  // longest sequence the rotary tables cover
  bool tie_word_embeddings = false;   // LM head shares the embedding matrix
  bool attention_bias = false;        // biases on the attention projections
  int64_t sliding_window = 0;         // Phi-3's config key: the query at position i sees the keys at
                                      // i - W .. i (W + 1 of them); 0 = full causal attention

  LlmFamily layout() const;
  int64_t head_dim() const { return hidden_size / num_heads; }
  // Token ids the model reads: the embedding's rows.
  int64_t embedding_rows() const { return vocab_size + extra_embedding_rows; }
};

// TroL: traversal of layers and the TroL-Mixer (DESIGN.md section 1).
struct TrolConfig {
  bool traversal = true;       // false: a plain decoder (ablation), gates unused
  bool shared_gate = false;    // true: one gate for all layers, as the released code builds it
};

// A ViT image encoder: CLIP's, or InternViT's (trol/intern_vit.h).
struct VisionConfig {
  bool enabled = true;              // false: a text-only model, no images accepted
  std::string architecture = "clip";  // clip (TroL-1.8B/7B) | internvit (TroL-3.8B: fused qkv, layer scale,
                                      // no pre-LayerNorm)
  bool frozen = true;               // built with requires_grad off, as in both training steps of the paper;
                                    // a training stage's parameter groups may unfreeze it
  int64_t image_size = 32;          // input resolution the model runs at
  int64_t pretrained_image_size = 0;  // resolution the position table was trained at (0 = image_size);
                                      // positions are interpolated bicubically to image_size
  int64_t patch_size = 8;           // conv stride and kernel
  int64_t num_channels = 3;         // input channels
  int64_t hidden_size = 64;         // encoder width
  int64_t num_layers = 2;           // encoder blocks
  int64_t num_heads = 4;            // attention heads
  int64_t intermediate_size = 256;  // MLP width
  std::string activation = "quick_gelu";  // quick_gelu (CLIP) | gelu
  double layer_norm_eps = 1e-5;     // LayerNorm epsilon
  int64_t select_layer = -1;        // hidden state fed to the projector: 0 = embeddings, i = after block i,
                                    // negative from the end (-1 last, -2 penultimate as in LLaVA)
  bool drop_class_token = true;     // drop the class token from the selected features
  double downsample_ratio = 1.0;    // 0.5: InternViT-style pixel shuffle (4x fewer, 4x wider tokens)

  int64_t grid_size() const { return image_size / patch_size; }
  int64_t pretrained_grid_size() const {
    return (pretrained_image_size > 0 ? pretrained_image_size : image_size) / patch_size;
  }
  // Width of one image token as the projector sees it (after pixel shuffle).
  int64_t feature_size() const;
  // Image tokens placed in the text per image.
  int64_t tokens_per_image() const;
};

struct ProjectorConfig {
  std::string type = "mlp2x_gelu";  // mlp2x_gelu: Linear GELU Linear | ln_mlp2x_gelu: LayerNorm first
};

// LoRA adapters on decoder projections (trol/lora_linear.h), as the paper's step 2 trains them.
struct LoraConfig {
  int64_t rank = 0;                  // 0: no adapters
  double alpha = 16.0;               // the update is scaled by alpha / rank
  double dropout = 0.05;             // on the adapter's input, in training
  std::vector<std::string> targets;  // module-name globs, e.g. "model.layers.*.self_attn.qkv_proj"
                                     // (`trol inspect CONFIG --parameters` lists the names)
  bool partial = false;              // Partial LoRA: the update only at image-token positions, as the
                                     // InternLM2 flavour of TroL (rank 256, alpha 256) trains it
};

struct ModelConfig {
  LlmConfig llm;
  TrolConfig trol;
  VisionConfig vision;
  ProjectorConfig projector;
  LoraConfig lora;
  std::string quantize = "none";  // none | nf4 | int8: the decoder projections' frozen weights stored in
                                  // 4 or 8 bits (QLoRA; trol/quantize.h); they cannot train
  int64_t image_token_id = -1;  // token id marking image positions in input_ids (-1: the embedding's last
                                // row, llm.vocab_size - 1 without extra_embedding_rows)

  int64_t resolved_image_token_id() const { return image_token_id >= 0 ? image_token_id : llm.embedding_rows() - 1; }
};

// Reads a `model:` section. Unknown keys and wrong types throw ConfigError naming the key.
ModelConfig read_model_config(ConfigReader& reader);

// Checks cross-field constraints; throws ConfigError naming the offending key and the fix.
// `path` is the key path of the model section in messages ("model").
void validate(const ModelConfig& config, const std::string& path = "model");

}  // namespace trol
