#include "trol/hf_config.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace trol {
namespace {

using Json = nlohmann::json;

struct ConfigFile {
  std::string path;
  Json json;

  // `key`'s value, or `fallback` (the Hugging Face class's default) when absent or null.
  template <typename T>
  T get(const Json& object, const std::string& key, const T& fallback) const {
    const auto it = object.find(key);
    if (it == object.end() || it->is_null()) return fallback;
    try {
      return it->get<T>();
    } catch (const Json::exception& e) {
      throw std::runtime_error(path + ": '" + key + "' has the wrong type (" + it->type_name() + ")");
    }
  }
  template <typename T>
  T require(const Json& object, const std::string& key) const {
    if (!object.contains(key) || object[key].is_null()) throw std::runtime_error(path + ": '" + key + "' is missing");
    return get<T>(object, key, T{});
  }
};

ConfigFile read_config(const std::string& dir) {
  ConfigFile file{dir + "/config.json", {}};
  std::ifstream in(file.path);
  if (!in) throw std::runtime_error(file.path + ": cannot be read (a Hugging Face model folder has a config.json)");
  try {
    file.json = Json::parse(in);
  } catch (const Json::parse_error& e) {
    throw std::runtime_error(file.path + ": not valid JSON: " + e.what());
  }
  if (!file.json.is_object()) throw std::runtime_error(file.path + ": expected a JSON object");
  return file;
}

YAML::Node llm_yaml(const ConfigFile& file, std::vector<std::string>& notes) {
  const auto& c = file.json;
  const auto type = file.get<std::string>(c, "model_type", "");
  if (type != "phi3" && type != "internlm2") {
    throw std::runtime_error(file.path + ": model_type '" + type + "' is not a supported backbone (phi3, internlm2)");
  }
  const auto activation = file.get<std::string>(c, "hidden_act", "silu");
  if (activation != "silu") throw std::runtime_error(file.path + ": hidden_act '" + activation + "': trol's MLP is SiLU-gated");

  YAML::Node llm;
  llm["family"] = type;
  llm["vocab_size"] = file.require<int64_t>(c, "vocab_size");
  llm["hidden_size"] = file.require<int64_t>(c, "hidden_size");
  llm["num_layers"] = file.require<int64_t>(c, "num_hidden_layers");
  const auto heads = file.require<int64_t>(c, "num_attention_heads");
  llm["num_heads"] = heads;
  llm["num_kv_heads"] = file.get<int64_t>(c, "num_key_value_heads", heads);
  llm["intermediate_size"] = file.require<int64_t>(c, "intermediate_size");
  // transformers 5 saves RoPE's settings in rope_parameters (rope_theta, rope_type and the
  // scaling's own keys) in place of the top-level rope_theta and rope_scaling of earlier configs.
  const Json no_parameters = Json::object();
  const Json& rope_parameters =
      c.contains("rope_parameters") && c["rope_parameters"].is_object() ? c["rope_parameters"] : no_parameters;
  llm["rope_theta"] = file.get<double>(rope_parameters, "rope_theta", file.get<double>(c, "rope_theta", 10000.0));
  const auto rotary_share = file.get<double>(rope_parameters, "partial_rotary_factor", file.get<double>(c, "partial_rotary_factor", 1.0));
  if (rotary_share != 1.0) {
    throw std::runtime_error(file.path + ": partial_rotary_factor " + std::to_string(rotary_share) +
                             " is not implemented in trol (its RoPE rotates every dimension of a head)");
  }
  llm["rms_norm_eps"] = file.get<double>(c, "rms_norm_eps", type == "phi3" ? 1e-5 : 1e-6);
  const auto max_positions = file.get<int64_t>(c, "max_position_embeddings", 2048);
  llm["max_position_embeddings"] = max_positions;
  llm["tie_word_embeddings"] = file.get<bool>(c, "tie_word_embeddings", false);
  // InternLM2 calls its attention-bias switch "bias"; Phi-3 has none.
  llm["attention_bias"] = type == "internlm2" ? file.get<bool>(c, "bias", true) : file.get<bool>(c, "attention_bias", false);

  const bool scaled_parameters = file.get<std::string>(rope_parameters, "rope_type", "default") != "default";
  if ((c.contains("rope_scaling") && !c["rope_scaling"].is_null()) || scaled_parameters) {
    const auto& scaling = scaled_parameters ? rope_parameters : c["rope_scaling"];
    const auto kind = file.get<std::string>(scaling, "type", file.get<std::string>(scaling, "rope_type", ""));
    // InternLM2's dynamic NTK scaling changes the rotary base only for sequences longer than
    // max_position_embeddings, as the authors' InternLM2DynamicNTKScalingRotaryEmbedding does.
    if (type == "internlm2" && kind == "dynamic") {
      YAML::Node rope;
      rope["type"] = "dynamic";
      rope["factor"] = file.require<double>(scaling, "factor");
      llm["rope_scaling"] = rope;
      notes.push_back(file.path + ": rope_scaling 'dynamic' is plain RoPE up to max_position_embeddings (" +
                      std::to_string(max_positions) +
                      " tokens); beyond, each forward call rescales the base by its length, as InternLM2's code does");
    } else if (type == "phi3" && (kind == "longrope" || kind == "su")) {
      // "su" is what the first Phi-3 128k configs (and the TroL authors' copy of its code) call it.
      YAML::Node rope;
      rope["type"] = "longrope";
      rope["short_factor"] = file.require<std::vector<double>>(scaling, "short_factor");
      rope["long_factor"] = file.require<std::vector<double>>(scaling, "long_factor");
      rope["original_max_position_embeddings"] =
          c.contains("original_max_position_embeddings") ? file.require<int64_t>(c, "original_max_position_embeddings")
                                                          : file.require<int64_t>(scaling, "original_max_position_embeddings");
      if (scaling.contains("attention_factor") || scaling.contains("short_mscale") || scaling.contains("long_mscale")) {
        throw std::runtime_error(file.path + ": rope_scaling with attention_factor / mscale (" + scaling.dump() +
                                 ") is not implemented in trol; the default scale is");
      }
      llm["rope_scaling"] = rope;
    } else {
      throw std::runtime_error(file.path + ": rope_scaling type '" + kind + "' (" + scaling.dump() +
                               ") is not implemented in trol; only none, Phi-3's 'longrope' ('su'), and InternLM2's "
                               "'dynamic' are");
    }
  }
  // Phi-3's sliding window W (mini-4k: 2047). Which keys it keeps differs between readings of
  // the key: flash-attention's window_size=(W, W) and transformers 4.41's eager mask (the
  // releases of Phi-3 and TroL) keep the keys at i - W .. i, W + 1 of them; transformers 5
  // (masking_utils: kv_idx > q_idx - W, flash window_size W - 1) keeps W. trol follows the
  // former: the authors' Phi3Model forces flash-attention with window_size=(W, W), so that is
  // the attention the released TroL-3.8B was trained and is run with.
  if (type == "phi3" && c.contains("sliding_window") && !c["sliding_window"].is_null()) {
    const auto window = file.get<int64_t>(c, "sliding_window", 0);
    if (window < 1) throw std::runtime_error(file.path + ": sliding_window " + std::to_string(window) + " must be positive");
    llm["sliding_window"] = window;
    notes.push_back(file.path + ": sliding_window " + std::to_string(window) + ": each token attends to itself and the " +
                    std::to_string(window) + " tokens before it, as flash-attention's window_size=(" +
                    std::to_string(window) + ", " + std::to_string(window) +
                    ") in the authors' Phi-3 code (transformers 5 reads the key as one token fewer)");
  }
  return llm;
}

YAML::Node vision_fields(const ConfigFile& file, const Json& vision);

bool is_intern_vit(const std::string& model_type) { return model_type.rfind("intern_vit", 0) == 0; }

YAML::Node vision_yaml(const ConfigFile& file) {
  const auto type = file.get<std::string>(file.json, "model_type", "");
  if (type == "clip") {
    auto vision = file.get<Json>(file.json, "vision_config", Json::object());
    vision["model_type"] = "clip_vision_model";
    return vision_fields(file, vision);
  }
  if (type == "clip_vision_model" || is_intern_vit(type)) return vision_fields(file, file.json);
  throw std::runtime_error(file.path + ": model_type '" + type +
                           "' is not a vision tower trol builds (clip, clip_vision_model, intern_vit_6b)");
}

// InternViT's config (model_type "intern_vit_6b" for the 300M tower too): trol builds the
// 300M form, so the switches that only InternViT-6B turns on are refused by name.
void check_intern_vit(const ConfigFile& file, const Json& vision) {
  const auto norm = file.get<std::string>(vision, "norm_type", "rms_norm");
  if (norm != "layer_norm") {
    throw std::runtime_error(file.path + ": norm_type '" + norm + "': trol's InternViT uses LayerNorm (InternViT-300M)");
  }
  if (file.get<bool>(vision, "qk_normalization", true)) {
    throw std::runtime_error(file.path + ": qk_normalization true (InternViT-6B) is not implemented in trol");
  }
  if (!file.get<bool>(vision, "qkv_bias", false)) {
    throw std::runtime_error(file.path + ": qkv_bias false: trol's InternViT has qkv biases (InternViT-300M)");
  }
}

YAML::Node vision_fields(const ConfigFile& file, const Json& vision) {
  // Defaults are those of transformers' CLIPVisionConfig, or of InternVL's InternVisionConfig
  // (old configs omit keys). The feature choices follow the models built on each: LLaVA reads
  // CLIP's penultimate layer (the TroL authors' CLIP tower reads the last); InternVL and
  // TroL-3.8B read InternViT's last layer, pixel-shuffled.
  const bool intern = is_intern_vit(file.get<std::string>(vision, "model_type", "clip_vision_model"));
  if (intern) check_intern_vit(file, vision);
  YAML::Node v;
  v["enabled"] = true;
  v["architecture"] = intern ? "internvit" : "clip";
  v["frozen"] = true;
  const auto image_size = file.get<int64_t>(vision, "image_size", 224);
  v["image_size"] = image_size;
  v["pretrained_image_size"] = file.get<int64_t>(vision, "pretrained_image_size", image_size);
  v["patch_size"] = file.get<int64_t>(vision, "patch_size", intern ? 14 : 32);
  v["num_channels"] = file.get<int64_t>(vision, "num_channels", 3);
  v["hidden_size"] = file.get<int64_t>(vision, "hidden_size", intern ? 3200 : 768);
  v["num_layers"] = file.get<int64_t>(vision, "num_hidden_layers", intern ? 48 : 12);
  v["num_heads"] = file.get<int64_t>(vision, "num_attention_heads", intern ? 25 : 12);
  v["intermediate_size"] = file.get<int64_t>(vision, "intermediate_size", intern ? 12800 : 3072);
  v["activation"] = file.get<std::string>(vision, "hidden_act", intern ? "gelu" : "quick_gelu");
  v["layer_norm_eps"] = file.get<double>(vision, "layer_norm_eps", intern ? 1e-6 : 1e-5);
  v["select_layer"] = intern ? -1 : -2;
  v["drop_class_token"] = file.get<bool>(vision, "drop_class_token", true);
  v["downsample_ratio"] = file.get<double>(vision, "downsample_ratio", intern ? 0.5 : 1.0);
  return v;
}

// A folder `trol export --format hf` wrote: the LLM's config.json plus, LLaVA-style, the
// vision tower's config and the multimodal settings (LLaVA's key names where it has them).
void read_trol_extras(const ConfigFile& file, YAML::Node& model) {
  const auto& c = file.json;
  if (c.contains("vision_config") && c["vision_config"].is_object()) {
    model["vision"] = vision_fields(file, c["vision_config"]);
    model["vision"]["select_layer"] = file.get<int64_t>(c, "vision_feature_layer", model["vision"]["select_layer"].as<int64_t>());
    model["projector"]["type"] = file.get<std::string>(c, "projector_type", "mlp2x_gelu");
  }
  if (c.contains("image_token_index")) model["image_token_id"] = file.get<int64_t>(c, "image_token_index", -1);
  if (c.contains("trol") && c["trol"].is_object()) {
    model["trol"]["traversal"] = file.get<bool>(c["trol"], "traversal", true);
    model["trol"]["shared_gate"] = file.get<bool>(c["trol"], "shared_gate", false);
  }
}


// The released TroL-3.8B's config.json (the authors' TroLConfig, model_type "trol", after
// InternVL's chat config): the Phi-3 backbone under llm_config, InternViT under vision_config,
// and how the features are taken (select_layer, downsample_ratio, force_image_size).
void read_released_phi3_trol(const ConfigFile& file, YAML::Node& model, std::vector<std::string>& notes) {
  const auto& c = file.json;
  for (const auto* key : {"llm_config", "vision_config"}) {
    if (!c.contains(key) || !c[key].is_object()) throw std::runtime_error(file.path + ": '" + key + "' is missing");
  }
  model["llm"] = llm_yaml(ConfigFile{file.path + " (llm_config)", c["llm_config"]}, notes);
  const ConfigFile vision{file.path + " (vision_config)", c["vision_config"]};
  model["vision"] = vision_fields(vision, vision.json);
  const auto image_size = file.get<int64_t>(c, "force_image_size", model["vision"]["image_size"].as<int64_t>());
  model["vision"]["image_size"] = image_size;
  model["vision"]["select_layer"] = file.get<int64_t>(c, "select_layer", -1);
  model["vision"]["downsample_ratio"] = file.get<double>(c, "downsample_ratio", 0.5);
  model["projector"]["type"] = "ln_mlp2x_gelu";
  // The authors' pixel_shuffle has no version switch: it always does what InternVL calls v2.
  notes.push_back(file.path + ": the released TroL (Phi-3) layout: InternViT at " + std::to_string(image_size) +
                  " px, pixel shuffle " + c.value("ps_version", std::string("v2")) + " read as the authors' (v2) code does it");
}

}  // namespace

HfModelConfig model_config_from_hf(const std::string& llm_dir, const std::string& vision_dir) {
  HfModelConfig out;
  auto& model = out.model;
  const auto llm = read_config(llm_dir);
  if (llm.get<std::string>(llm.json, "model_type", "") == "trol") {
    if (!vision_dir.empty()) throw std::runtime_error(llm.path + " is a released TroL model with its own vision tower: drop --vision");
    read_released_phi3_trol(llm, model, out.notes);
    return out;
  }
  model["llm"] = llm_yaml(llm, out.notes);
  model["vision"]["enabled"] = false;
  read_trol_extras(llm, model);
  if (!vision_dir.empty()) {
    if (llm.json.contains("vision_config")) {
      throw std::runtime_error(llm.path + " already describes a vision tower (vision_config): drop --vision");
    }
    model["vision"] = vision_yaml(read_config(vision_dir));
    // LLaVA's projector after CLIP; InternVL's (LayerNorm first) after the pixel-shuffled InternViT.
    model["projector"]["type"] = model["vision"]["architecture"].as<std::string>() == "internvit" ? "ln_mlp2x_gelu" : "mlp2x_gelu";
  }
  return out;
}

nlohmann::json hf_llm_config_json(const LlmConfig& l, const std::string& torch_dtype) {
  const bool phi3 = l.layout() == LlmFamily::Phi3;
  nlohmann::json c;
  c["architectures"] = {phi3 ? "Phi3ForCausalLM" : "InternLM2ForCausalLM"};
  c["model_type"] = l.family;
  c["vocab_size"] = l.vocab_size;
  c["hidden_size"] = l.hidden_size;
  c["num_hidden_layers"] = l.num_layers;
  c["num_attention_heads"] = l.num_heads;
  c["num_key_value_heads"] = l.num_kv_heads;
  c["intermediate_size"] = l.intermediate_size;
  c["hidden_act"] = "silu";
  c["rope_theta"] = l.rope_theta;
  if (l.rope_scaling.type == "longrope") {
    c["rope_scaling"] = {{"type", "longrope"},
                         {"short_factor", l.rope_scaling.short_factor},
                         {"long_factor", l.rope_scaling.long_factor}};
    c["original_max_position_embeddings"] = l.rope_scaling.original_max_position_embeddings;
  } else if (l.rope_scaling.type == "dynamic") {
    c["rope_scaling"] = {{"type", "dynamic"}, {"factor", l.rope_scaling.factor}};
  } else {
    c["rope_scaling"] = nullptr;
  }
  c["rms_norm_eps"] = l.rms_norm_eps;
  c["max_position_embeddings"] = l.max_position_embeddings;
  c["tie_word_embeddings"] = l.tie_word_embeddings;
  c[phi3 ? "attention_bias" : "bias"] = l.attention_bias;
  if (phi3) c["sliding_window"] = l.sliding_window > 0 ? nlohmann::json(l.sliding_window) : nlohmann::json(nullptr);
  c["torch_dtype"] = torch_dtype;
  return c;
}

nlohmann::json hf_vision_config_json(const VisionConfig& v) {
  const bool intern = v.architecture == "internvit";
  nlohmann::json c = {{"model_type", intern ? "intern_vit_6b" : "clip_vision_model"},
                      {"image_size", v.image_size},
                      {"pretrained_image_size", v.pretrained_image_size > 0 ? v.pretrained_image_size : v.image_size},
                      {"patch_size", v.patch_size},
                      {"num_channels", v.num_channels},
                      {"hidden_size", v.hidden_size},
                      {"num_hidden_layers", v.num_layers},
                      {"num_attention_heads", v.num_heads},
                      {"intermediate_size", v.intermediate_size},
                      {"hidden_act", v.activation},
                      {"layer_norm_eps", v.layer_norm_eps},
                      {"drop_class_token", v.drop_class_token},
                      {"downsample_ratio", v.downsample_ratio}};
  if (intern) {
    c["norm_type"] = "layer_norm";
    c["qk_normalization"] = false;
    c["qkv_bias"] = true;
  }
  return c;
}

nlohmann::json hf_config_json(const ModelConfig& config, const std::string& torch_dtype) {
  auto c = hf_llm_config_json(config.llm, torch_dtype);
  c["trol"] = {{"traversal", config.trol.traversal}, {"shared_gate", config.trol.shared_gate}};
  if (config.vision.enabled) {
    c["vision_config"] = hf_vision_config_json(config.vision);
    c["vision_feature_layer"] = config.vision.select_layer;
    c["projector_type"] = config.projector.type;
    c["image_token_index"] = config.resolved_image_token_id();
  }
  return c;
}

}  // namespace trol
