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
  llm["rope_theta"] = file.get<double>(c, "rope_theta", 10000.0);
  llm["rms_norm_eps"] = file.get<double>(c, "rms_norm_eps", type == "phi3" ? 1e-5 : 1e-6);
  const auto max_positions = file.get<int64_t>(c, "max_position_embeddings", 2048);
  llm["max_position_embeddings"] = max_positions;
  llm["tie_word_embeddings"] = file.get<bool>(c, "tie_word_embeddings", false);
  // InternLM2 calls its attention-bias switch "bias"; Phi-3 has none.
  llm["attention_bias"] = type == "internlm2" ? file.get<bool>(c, "bias", true) : file.get<bool>(c, "attention_bias", false);

  if (c.contains("rope_scaling") && !c["rope_scaling"].is_null()) {
    const auto& scaling = c["rope_scaling"];
    const auto kind = file.get<std::string>(scaling, "type", file.get<std::string>(scaling, "rope_type", ""));
    // InternLM2's dynamic NTK scaling changes the rotary base only for sequences longer than
    // max_position_embeddings; below that it is plain RoPE, which is what trol computes.
    if (type == "internlm2" && kind == "dynamic") {
      notes.push_back(file.path + ": rope_scaling 'dynamic' is plain RoPE up to max_position_embeddings (" +
                      std::to_string(max_positions) + " tokens); trol does not rescale beyond");
    } else {
      throw std::runtime_error(file.path + ": rope_scaling type '" + kind + "' (" + scaling.dump() +
                               ") is not implemented in trol; only none, and InternLM2's 'dynamic' within "
                               "max_position_embeddings, are");
    }
  }
  if (type == "phi3" && c.contains("sliding_window") && !c["sliding_window"].is_null()) {
    notes.push_back(file.path + ": sliding_window " + c["sliding_window"].dump() +
                    ": trol attends over the whole sequence, the same for sequences of up to " +
                    std::to_string(file.get<int64_t>(c, "sliding_window", 0) + 1) + " tokens");
  }
  return llm;
}

YAML::Node vision_fields(const ConfigFile& file, const Json& vision);

YAML::Node vision_yaml(const ConfigFile& file) {
  const auto type = file.get<std::string>(file.json, "model_type", "");
  Json vision;
  if (type == "clip") {
    vision = file.get<Json>(file.json, "vision_config", Json::object());
  } else if (type == "clip_vision_model") {
    vision = file.json;
  } else if (type.rfind("intern_vit", 0) == 0) {
    throw std::runtime_error(file.path + ": InternViT (model_type '" + type +
                             "') is not supported yet: trol's vision tower is CLIP's (layer scale and its "
                             "normalisations are missing)");
  } else {
    throw std::runtime_error(file.path + ": model_type '" + type + "' is not a CLIP vision tower (clip, clip_vision_model)");
  }
  return vision_fields(file, vision);
}

YAML::Node vision_fields(const ConfigFile& file, const Json& vision) {
  // Defaults are those of transformers' CLIPVisionConfig (old configs omit them).
  YAML::Node v;
  v["enabled"] = true;
  v["frozen"] = true;
  const auto image_size = file.get<int64_t>(vision, "image_size", 224);
  v["image_size"] = image_size;
  v["pretrained_image_size"] = file.get<int64_t>(vision, "pretrained_image_size", image_size);
  v["patch_size"] = file.get<int64_t>(vision, "patch_size", 32);
  v["num_channels"] = file.get<int64_t>(vision, "num_channels", 3);
  v["hidden_size"] = file.get<int64_t>(vision, "hidden_size", 768);
  v["num_layers"] = file.get<int64_t>(vision, "num_hidden_layers", 12);
  v["num_heads"] = file.get<int64_t>(vision, "num_attention_heads", 12);
  v["intermediate_size"] = file.get<int64_t>(vision, "intermediate_size", 3072);
  v["activation"] = file.get<std::string>(vision, "hidden_act", "quick_gelu");
  v["layer_norm_eps"] = file.get<double>(vision, "layer_norm_eps", 1e-5);
  v["select_layer"] = -2;  // LLaVA's choice, the penultimate layer (the TroL authors' CLIP tower reads the last)
  v["drop_class_token"] = file.get<bool>(vision, "drop_class_token", true);
  v["downsample_ratio"] = file.get<double>(vision, "downsample_ratio", 1.0);
  return v;
}

// A folder `trol export --format hf` wrote: the LLM's config.json plus, LLaVA-style, the
// vision tower's config and the multimodal settings (LLaVA's key names where it has them).
void read_trol_extras(const ConfigFile& file, YAML::Node& model) {
  const auto& c = file.json;
  if (c.contains("vision_config") && c["vision_config"].is_object()) {
    model["vision"] = vision_fields(file, c["vision_config"]);
    model["vision"]["select_layer"] = file.get<int64_t>(c, "vision_feature_layer", -2);
    model["projector"]["type"] = file.get<std::string>(c, "projector_type", "mlp2x_gelu");
  }
  if (c.contains("image_token_index")) model["image_token_id"] = file.get<int64_t>(c, "image_token_index", -1);
  if (c.contains("trol") && c["trol"].is_object()) {
    model["trol"]["traversal"] = file.get<bool>(c["trol"], "traversal", true);
    model["trol"]["shared_gate"] = file.get<bool>(c["trol"], "shared_gate", false);
  }
}

}  // namespace

HfModelConfig model_config_from_hf(const std::string& llm_dir, const std::string& vision_dir) {
  HfModelConfig out;
  auto& model = out.model;
  const auto llm = read_config(llm_dir);
  model["llm"] = llm_yaml(llm, out.notes);
  model["vision"]["enabled"] = false;
  read_trol_extras(llm, model);
  if (!vision_dir.empty()) {
    if (llm.json.contains("vision_config")) {
      throw std::runtime_error(llm.path + " already describes a vision tower (vision_config): drop --vision");
    }
    model["vision"] = vision_yaml(read_config(vision_dir));
    model["projector"]["type"] = "mlp2x_gelu";
  }
  return out;
}

nlohmann::json hf_config_json(const ModelConfig& config, const std::string& torch_dtype) {
  const auto& l = config.llm;
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
  c["rope_scaling"] = nullptr;
  c["rms_norm_eps"] = l.rms_norm_eps;
  c["max_position_embeddings"] = l.max_position_embeddings;
  c["tie_word_embeddings"] = l.tie_word_embeddings;
  c[phi3 ? "attention_bias" : "bias"] = l.attention_bias;
  c["torch_dtype"] = torch_dtype;
  c["trol"] = {{"traversal", config.trol.traversal}, {"shared_gate", config.trol.shared_gate}};
  if (config.vision.enabled) {
    const auto& v = config.vision;
    c["vision_config"] = {{"model_type", "clip_vision_model"},
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
    c["vision_feature_layer"] = v.select_layer;
    c["projector_type"] = config.projector.type;
    c["image_token_index"] = config.resolved_image_token_id();
  }
  return c;
}

}  // namespace trol
