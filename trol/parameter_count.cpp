#include "trol/parameter_count.h"

#include <fnmatch.h>

#include <ostream>
#include <string>

#include "trol/model.h"
#include "trol/param_groups.h"

namespace trol {
namespace {

int64_t linear(int64_t in, int64_t out, bool bias = true) { return in * out + (bias ? out : 0); }

int64_t vision_parameters(const VisionConfig& v) {
  const int64_t c = v.hidden_size, grid = v.pretrained_grid_size();
  const bool intern = v.architecture == "internvit";
  const int64_t patch = v.num_channels * v.patch_size * v.patch_size * c + (intern ? c : 0);  // CLIP's conv has no bias
  int64_t total = patch + c /* class embedding */ + (grid * grid + 1) * c /* positions */;
  if (!intern) total += 2 * c;  // pre_layrnorm
  const int64_t attention = intern ? linear(c, 3 * c) + linear(c, c) : 4 * linear(c, c);
  const int64_t block = attention + 2 * 2 * c /* two LayerNorms */ + linear(c, v.intermediate_size) +
                        linear(v.intermediate_size, c) + (intern ? 2 * c /* ls1, ls2 */ : 0);
  return total + v.num_layers * block;
}

// The decoder's linear projections of one layer: {module name under model.layers.{i}., in, out}.
struct Projection {
  std::string name;
  int64_t in, out;
};

std::vector<Projection> layer_projections(const LlmConfig& l) {
  const int64_t h = l.hidden_size, d = l.head_dim(), qkv = (l.num_heads + 2 * l.num_kv_heads) * d;
  if (l.layout() == LlmFamily::Phi3) {
    return {{"self_attn.qkv_proj", h, qkv},
            {"self_attn.o_proj", l.num_heads * d, h},
            {"mlp.gate_up_proj", h, 2 * l.intermediate_size},
            {"mlp.down_proj", l.intermediate_size, h}};
  }
  return {{"attention.wqkv", h, qkv},
          {"attention.wo", l.num_heads * d, h},
          {"feed_forward.w1", h, l.intermediate_size},
          {"feed_forward.w3", h, l.intermediate_size},
          {"feed_forward.w2", l.intermediate_size, h}};
}

}  // namespace

std::map<std::string, int64_t> ParameterCount::by_group() const {
  std::map<std::string, int64_t> groups;
  for (const auto& [name, n] : std::map<std::string, int64_t>{
           {"llm", llm}, {"lora", lora}, {"mixer", mixer}, {"projector", projector}, {"vision", vision}}) {
    if (n > 0) groups[name] = n;
  }
  return groups;
}

ParameterCount count_parameters(const ModelConfig& config) {
  const auto& l = config.llm;
  ParameterCount count;
  const int64_t h = l.hidden_size;
  const auto projections = layer_projections(l);
  int64_t layer = 2 * h;  // the two RMSNorms
  for (size_t p = 0; p < projections.size(); ++p) {
    // Attention biases (InternLM2's "bias", Phi-3's attention_bias) are on qkv and output only.
    layer += linear(projections[p].in, projections[p].out, l.attention_bias && p < 2);
  }
  const int64_t head = l.tie_word_embeddings ? 0 : l.vocab_size * h;
  count.llm = l.embedding_rows() * h + head + l.num_layers * layer + h /* final norm */;
  count.mixer = (config.trol.shared_gate ? 1 : l.num_layers) * linear(h, 1);
  if (config.lora.rank > 0) {
    for (int64_t i = 0; i < l.num_layers; ++i) {
      for (const auto& projection : projections) {
        const auto name = "model.layers." + std::to_string(i) + "." + projection.name;
        for (const auto& pattern : config.lora.targets) {
          if (fnmatch(pattern.c_str(), name.c_str(), 0) == 0) {
            count.lora += config.lora.rank * (projection.in + projection.out);
            break;
          }
        }
      }
    }
  }
  if (config.vision.enabled) {
    count.vision = vision_parameters(config.vision);
    const int64_t in = config.vision.feature_size();
    count.projector = linear(in, h) + linear(h, h) + (config.projector.type == "ln_mlp2x_gelu" ? 2 * in : 0);
  }
  return count;
}

void print_parameter_groups(const ModelConfig& config, bool count_only, bool list_parameters, std::ostream& out) {
  if (count_only) {
    const auto count = count_parameters(config);
    for (const auto& [group, n] : count.by_group()) out << group << ": " << n << " parameters\n";
    out << "total: " << count.total() << " parameters; image tokens per image: "
        << (config.vision.enabled ? config.vision.tokens_per_image() : 0) << "\n";
    return;
  }
  torch::NoGradGuard no_grad;
  TrolModel model(config);
  const ParameterGroups groups;
  if (list_parameters) {
    for (const auto& p : model->named_parameters()) {
      out << p.key() << " " << p.value().sizes() << " " << groups.group_of(p.key()) << "\n";
    }
  }
  int64_t total = 0;
  for (const auto& [group, counts] : groups.count(*model)) {
    out << group << ": " << counts.first << " parameters\n";
    total += counts.first;
  }
  out << "total: " << total << " parameters; image tokens per image: "
      << (config.vision.enabled ? config.vision.tokens_per_image() : 0) << "\n";
}

}  // namespace trol
