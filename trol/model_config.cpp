#include "trol/model_config.h"

#include <cmath>

#include "trol/config_reader.h"

namespace trol {

LlmFamily LlmConfig::layout() const {
  if (family == "phi3") return LlmFamily::Phi3;
  if (family == "internlm2") return LlmFamily::InternLM2;
  throw ConfigError("model.llm.family: unknown family '" + family + "' (expected phi3 or internlm2)");
}

int64_t VisionConfig::feature_size() const {
  const auto factor = static_cast<int64_t>(std::lround(1.0 / (downsample_ratio * downsample_ratio)));
  return hidden_size * factor;
}

int64_t VisionConfig::tokens_per_image() const {
  const auto side = static_cast<int64_t>(std::lround(grid_size() * downsample_ratio));
  return side * side;
}

ModelConfig read_model_config(ConfigReader& reader) {
  ModelConfig c;
  {
    auto r = reader.section("llm");
    auto& l = c.llm;
    r.read("family", l.family);
    r.read("vocab_size", l.vocab_size);
    r.read("extra_embedding_rows", l.extra_embedding_rows);
    r.read("hidden_size", l.hidden_size);
    r.read("num_layers", l.num_layers);
    r.read("num_heads", l.num_heads);
    r.read("num_kv_heads", l.num_kv_heads);
    r.read("intermediate_size", l.intermediate_size);
    r.read("rope_theta", l.rope_theta);
    r.read("rms_norm_eps", l.rms_norm_eps);
    r.read("max_position_embeddings", l.max_position_embeddings);
    {
      auto scaling = r.section("rope_scaling");
      scaling.read("type", l.rope_scaling.type);
      scaling.read("short_factor", l.rope_scaling.short_factor);
      scaling.read("long_factor", l.rope_scaling.long_factor);
      scaling.read("original_max_position_embeddings", l.rope_scaling.original_max_position_embeddings);
      scaling.read("factor", l.rope_scaling.factor);
      scaling.finish();
    }
    r.read("tie_word_embeddings", l.tie_word_embeddings);
    r.read("attention_bias", l.attention_bias);
    r.read("sliding_window", l.sliding_window);
    r.finish();
  }
  {
    auto r = reader.section("trol");
    r.read("traversal", c.trol.traversal);
    r.read("shared_gate", c.trol.shared_gate);
    r.finish();
  }
  {
    auto r = reader.section("vision");
    auto& v = c.vision;
    r.read("enabled", v.enabled);
    r.read("architecture", v.architecture);
    r.read("frozen", v.frozen);
    r.read("image_size", v.image_size);
    r.read("pretrained_image_size", v.pretrained_image_size);
    r.read("patch_size", v.patch_size);
    r.read("num_channels", v.num_channels);
    r.read("hidden_size", v.hidden_size);
    r.read("num_layers", v.num_layers);
    r.read("num_heads", v.num_heads);
    r.read("intermediate_size", v.intermediate_size);
    r.read("activation", v.activation);
    r.read("layer_norm_eps", v.layer_norm_eps);
    r.read("select_layer", v.select_layer);
    r.read("drop_class_token", v.drop_class_token);
    r.read("downsample_ratio", v.downsample_ratio);
    r.finish();
  }
  {
    auto r = reader.section("lora");
    r.read("rank", c.lora.rank);
    r.read("alpha", c.lora.alpha);
    r.read("dropout", c.lora.dropout);
    r.read("targets", c.lora.targets);
    r.read("partial", c.lora.partial);
    r.finish();
  }
  reader.read("quantize", c.quantize);
  {
    auto r = reader.section("projector");
    r.read("type", c.projector.type);
    r.finish();
  }
  reader.read("image_token_id", c.image_token_id);
  reader.finish();
  validate(c, reader.path());
  return c;
}

namespace {

[[noreturn]] void invalid(const std::string& key, const std::string& message) {
  throw ConfigError(key + ": " + message);
}

void require_positive(const std::string& key, int64_t value) {
  if (value <= 0) invalid(key, "must be positive, got " + std::to_string(value));
}

void validate_vision(const VisionConfig& v, const std::string& path) {
  const std::string vis = path + ".vision.";
  if (v.architecture != "clip" && v.architecture != "internvit") {
    invalid(vis + "architecture", "unknown vision encoder '" + v.architecture + "' (expected clip or internvit)");
  }
  require_positive(vis + "image_size", v.image_size);
  require_positive(vis + "patch_size", v.patch_size);
  require_positive(vis + "num_channels", v.num_channels);
  require_positive(vis + "hidden_size", v.hidden_size);
  require_positive(vis + "num_layers", v.num_layers);
  require_positive(vis + "num_heads", v.num_heads);
  require_positive(vis + "intermediate_size", v.intermediate_size);
  if (v.image_size % v.patch_size != 0) {
    invalid(vis + "image_size", "(" + std::to_string(v.image_size) + ") must be a multiple of " + vis +
                                    "patch_size (" + std::to_string(v.patch_size) + ")");
  }
  if (v.pretrained_image_size < 0 || (v.pretrained_image_size > 0 && v.pretrained_image_size % v.patch_size != 0)) {
    invalid(vis + "pretrained_image_size", "must be 0 or a positive multiple of " + vis + "patch_size");
  }
  if (v.hidden_size % v.num_heads != 0) {
    invalid(vis + "hidden_size", "(" + std::to_string(v.hidden_size) + ") must be divisible by " + vis +
                                     "num_heads (" + std::to_string(v.num_heads) + ")");
  }
  if (v.activation != "quick_gelu" && v.activation != "gelu") {
    invalid(vis + "activation", "unknown activation '" + v.activation + "' (expected quick_gelu or gelu)");
  }
  if (v.select_layer > v.num_layers || v.select_layer < -(v.num_layers + 1)) {
    invalid(vis + "select_layer", "(" + std::to_string(v.select_layer) + ") must index a hidden state: 0 (embeddings).." +
                                      std::to_string(v.num_layers) + ", or -1 (last layer)..-" +
                                      std::to_string(v.num_layers + 1));
  }
  if (v.downsample_ratio != 1.0 && v.downsample_ratio != 0.5) {
    invalid(vis + "downsample_ratio", "must be 1.0 (no pixel shuffle) or 0.5 (InternViT pixel shuffle)");
  }
  if (v.downsample_ratio == 0.5) {
    if (!v.drop_class_token) invalid(vis + "drop_class_token", "must be true with pixel shuffle (downsample_ratio 0.5)");
    if (v.grid_size() % 2 != 0) {
      invalid(vis + "downsample_ratio", "pixel shuffle needs an even patch grid, got " + std::to_string(v.grid_size()) +
                                            " (image_size / patch_size)");
    }
  }
}

}  // namespace

void validate(const ModelConfig& c, const std::string& path) {
  const std::string llm = path + ".llm.";
  const auto& l = c.llm;
  if (l.family != "phi3" && l.family != "internlm2") {
    invalid(llm + "family", "unknown family '" + l.family + "' (expected phi3 or internlm2)");
  }
  require_positive(llm + "vocab_size", l.vocab_size);
  if (l.extra_embedding_rows < 0) {
    invalid(llm + "extra_embedding_rows", "must be 0 or positive, got " + std::to_string(l.extra_embedding_rows));
  }
  if (l.extra_embedding_rows > 0 && l.tie_word_embeddings) {
    invalid(llm + "tie_word_embeddings", "a tied LM head is the embedding itself, so it cannot have fewer rows (" + llm +
                                             "extra_embedding_rows is " + std::to_string(l.extra_embedding_rows) +
                                             "): set one of them to false / 0");
  }
  require_positive(llm + "hidden_size", l.hidden_size);
  require_positive(llm + "num_layers", l.num_layers);
  require_positive(llm + "num_heads", l.num_heads);
  require_positive(llm + "num_kv_heads", l.num_kv_heads);
  require_positive(llm + "intermediate_size", l.intermediate_size);
  require_positive(llm + "max_position_embeddings", l.max_position_embeddings);
  if (l.hidden_size % l.num_heads != 0) {
    invalid(llm + "hidden_size", "(" + std::to_string(l.hidden_size) + ") must be divisible by " + llm +
                                     "num_heads (" + std::to_string(l.num_heads) + ")");
  }
  if (l.head_dim() % 2 != 0) {
    invalid(llm + "num_heads", "head_dim = hidden_size / num_heads = " + std::to_string(l.head_dim()) +
                                   " must be even for rotary embeddings");
  }
  if (l.num_heads % l.num_kv_heads != 0) {
    invalid(llm + "num_kv_heads", "(" + std::to_string(l.num_kv_heads) + ") must divide " + llm + "num_heads (" +
                                      std::to_string(l.num_heads) + ")");
  }
  if (!(l.rope_theta > 0)) invalid(llm + "rope_theta", "must be positive");
  const auto& scaling = l.rope_scaling;
  if (scaling.type != "none" && scaling.type != "longrope" && scaling.type != "dynamic") {
    invalid(llm + "rope_scaling.type",
            "unknown RoPE scaling '" + scaling.type + "' (expected none, longrope or dynamic)");
  }
  if (scaling.type == "dynamic" && !(scaling.factor > 0)) invalid(llm + "rope_scaling.factor", "must be positive");
  if (scaling.type == "longrope") {
    const auto half = static_cast<size_t>(l.head_dim() / 2);
    for (const auto* list : {&scaling.short_factor, &scaling.long_factor}) {
      const std::string key = llm + "rope_scaling." + (list == &scaling.short_factor ? "short_factor" : "long_factor");
      if (list->size() != half) {
        invalid(key, "has " + std::to_string(list->size()) + " factors, head_dim / 2 = " + std::to_string(half) + " needed");
      }
      for (double f : *list) {
        if (!(f > 0)) invalid(key, "factors must be positive");
      }
    }
    if (scaling.original_max_position_embeddings <= 0) {
      invalid(llm + "rope_scaling.original_max_position_embeddings", "must be positive with longrope");
    }
  }
  if (!(l.rms_norm_eps > 0)) invalid(llm + "rms_norm_eps", "must be positive");
  if (l.sliding_window < 0) {
    invalid(llm + "sliding_window", "must be 0 (full attention) or positive, got " + std::to_string(l.sliding_window));
  }
  if (l.sliding_window > 0 && l.family != "phi3") {
    invalid(llm + "sliding_window", "is Phi-3's setting; " + l.family + " attends over the whole sequence (set 0)");
  }

  const auto token = c.resolved_image_token_id();
  if (token >= l.embedding_rows()) {
    invalid(path + ".image_token_id", "(" + std::to_string(token) + ") must be below " + llm + "vocab_size (" +
                                          std::to_string(l.vocab_size) + ")" +
                                          (l.extra_embedding_rows > 0 ? " + " + llm + "extra_embedding_rows (" +
                                                                            std::to_string(l.extra_embedding_rows) + ")"
                                                                      : std::string()));
  }

  if (c.vision.enabled) validate_vision(c.vision, path);
  if (c.quantize != "none" && c.quantize != "nf4" && c.quantize != "int8") {
    invalid(path + ".quantize", "expected none, nf4 or int8, got '" + c.quantize + "'");
  }
  if (c.lora.rank < 0) invalid(path + ".lora.rank", "must be 0 (no adapters) or positive");
  if (c.lora.rank > 0 && c.lora.targets.empty()) {
    invalid(path + ".lora.targets", "name the projections to adapt, e.g. [\"model.layers.*.self_attn.qkv_proj\"]");
  }
  if (c.lora.dropout < 0 || c.lora.dropout >= 1) invalid(path + ".lora.dropout", "must be within [0, 1)");
  if (c.lora.partial && c.lora.rank == 0) invalid(path + ".lora.partial", "needs adapters (model.lora.rank > 0)");
  if (c.lora.partial && !c.vision.enabled) {
    invalid(path + ".lora.partial", "applies adapters at image-token positions only, but " + path +
                                        ".vision.enabled is false: there are no image tokens");
  }
  if (c.projector.type != "mlp2x_gelu" && c.projector.type != "ln_mlp2x_gelu") {
    invalid(path + ".projector.type", "unknown projector '" + c.projector.type + "' (expected mlp2x_gelu or ln_mlp2x_gelu)");
  }
}

}  // namespace trol
