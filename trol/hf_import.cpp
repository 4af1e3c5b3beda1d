#include "trol/hf_import.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include "trol/config_reader.h"
#include "trol/hf_checkpoint.h"
#include "trol/hf_config.h"
#include "trol/param_groups.h"
#include "trol/released_layout.h"
#include "trol/string_affixes.h"

namespace trol {
namespace {

// Tensors of a checkpoint that a trol model has no place for, by design: rotary tables some
// checkpoints store (trol computes them), and in a full CLIP checkpoint the text tower, the
// contrastive heads and the vision tower's final LayerNorm (LLaVA reads a hidden state before it).
bool not_needed(const std::string& name) {
  return ends_with(name, ".rotary_emb.inv_freq") || ends_with(name, ".position_ids") ||
         starts_with(name, "text_model.") || starts_with(name, "vision_model.post_layernorm.") ||
         name == "logit_scale" || starts_with(name, "text_projection.") || starts_with(name, "visual_projection.");
}

// The vocabulary as the tables hold it. Some checkpoints pad the embedding and the head past
// config.json's vocab_size (added tokens): the tables decide. The TroL InternLM2 code builds its
// embedding with vocab_size + 1 rows, the last the image token's, and the head with vocab_size:
// rows of the embedding past the head's are read but never predicted (llm.extra_embedding_rows).
void adopt_vocabulary_of_tables(const std::map<std::string, torch::Tensor>& source, HfModelConfig& hf) {
  auto rows_of = [&](std::initializer_list<const char*> names) -> std::pair<std::string, int64_t> {
    for (const auto* name : names) {
      const auto it = source.find(name);
      if (it != source.end() && it->second.dim() == 2) return {name, it->second.size(0)};
    }
    return {"", 0};
  };
  const auto [embedding, table_rows] = rows_of({"model.embed_tokens.weight", "model.tok_embeddings.weight"});
  const auto [head, head_rows] = rows_of({"lm_head.weight", "output.weight"});
  auto llm = hf.model["llm"];
  const auto vocab = llm["vocab_size"].as<int64_t>();
  if (!head.empty() && table_rows > head_rows) {
    hf.notes.push_back(embedding + " has " + std::to_string(table_rows) + " rows, " + head + " " + std::to_string(head_rows) +
                       " (config.json's vocab_size " + std::to_string(vocab) + "): logits over " +
                       std::to_string(head_rows) + " tokens, the last " + std::to_string(table_rows - head_rows) +
                       " embedding row(s) read but never predicted (llm.extra_embedding_rows), as the TroL InternLM2 code "
                       "builds them for the image token");
    llm["vocab_size"] = head_rows;
    llm["extra_embedding_rows"] = table_rows - head_rows;
  } else if (!embedding.empty() && table_rows != vocab) {
    hf.notes.push_back(embedding + " has " + std::to_string(table_rows) + " rows, config.json says vocab_size " +
                       std::to_string(vocab) + ": the table decides");
    llm["vocab_size"] = table_rows;
  }
}

}  // namespace

bool is_hf_model_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  return fs::exists(fs::path(dir) / "config.json") && !fs::exists(fs::path(dir) / "config.yaml");
}

HfModelFolders read_hf_model_folders(const std::string& llm_dir, const std::string& vision_dir,
                                     const std::string& gating_file) {
  namespace fs = std::filesystem;
  std::map<std::string, torch::Tensor> source;
  size_t skipped = 0;
  auto take = [&](const std::string& dir, bool vision) {
    auto weights = load_hf_weights(dir);
    // The vision tower's folder may be a whole CLIP (or InternVL) model, of which only
    // vision_model.* is ours, or the tower alone (InternViT's own checkpoints: embeddings.*,
    // encoder.*), which trol holds under vision_model.
    const bool tower_alone = vision && std::none_of(weights.begin(), weights.end(), [](const auto& entry) {
                               return starts_with(entry.first, "vision_model.");
                             });
    for (auto& [name, tensor] : weights) {
      const auto ours = tower_alone ? "vision_model." + name : name;
      if (not_needed(ours) || (vision && !starts_with(ours, "vision_model."))) {
        ++skipped;
      } else {
        source.emplace(ours, std::move(tensor));
      }
    }
  };
  take(llm_dir, false);
  auto hf = model_config_from_hf(llm_dir, vision_dir);
  if (is_released_trol_layout(source)) {
    if (!vision_dir.empty()) throw std::runtime_error(llm_dir + " is a released TroL checkpoint with its own vision tower: drop --vision");
    adopt_released_trol_layout(llm_dir, source, hf.model, hf.notes);
    for (auto it = source.begin(); it != source.end();) {  // its tower's names are known only now
      it = not_needed(it->first) ? (++skipped, source.erase(it)) : std::next(it);
    }
  }
  if (!vision_dir.empty()) take(vision_dir, true);

  // The gates of a released TroL model ship apart from its safetensors.
  std::string gating = gating_file;
  for (const auto* name : {"trol_gating.safetensors", "trol_gating.pt"}) {
    if (gating.empty() && fs::exists(fs::path(llm_dir) / name)) gating = (fs::path(llm_dir) / name).string();
  }
  if (!gating.empty()) {
    for (auto& [name, tensor] : load_trol_gating(gating, hf.model)) source[name] = tensor;
    hf.notes.push_back("TroL gates from " + gating + (hf.model["trol"]["shared_gate"].as<bool>() ? " (one gate shared by all layers)" : ""));
  }
  adopt_vocabulary_of_tables(source, hf);

  HfModelFolders out;
  out.model = hf.model;
  out.weights = std::move(source);
  out.notes = std::move(hf.notes);
  out.skipped = skipped;
  return out;
}

int64_t load_hf_weights_into(TrolModel& model, std::map<std::string, torch::Tensor> weights, const std::string& source) {
  const ParameterGroups groups;
  std::vector<std::string> expected;
  std::string problems;
  int64_t fresh = 0;
  torch::NoGradGuard no_grad;
  auto assign = [&](const std::string& name, torch::Tensor& target) {
    expected.push_back(name);
    const auto found = weights.find(name);
    if (found == weights.end()) {
      const auto& group = groups.group_of(name);
      if (group == "mixer" || group == "projector" || group == "lora") {
        fresh += target.numel();
      } else {
        problems += "\n  missing: " + name + " " + c10::str(target.sizes());
      }
      return;
    }
    if (found->second.sizes() != target.sizes()) {
      problems += "\n  shape of " + name + ": checkpoint " + c10::str(found->second.sizes()) + ", config " +
                  c10::str(target.sizes());
    } else {
      target.copy_(found->second);
    }
    weights.erase(found);
  };
  for (auto& p : model->named_parameters()) assign(p.key(), p.value());
  for (auto& b : model->named_buffers()) assign(b.key(), b.value());
  for (const auto& extra : weights) {
    const auto near = closest_match(extra.first, expected);
    problems += "\n  unexpected: " + extra.first + (near.empty() ? "" : " (closest expected: " + near + ")");
  }
  if (!problems.empty()) {
    throw std::runtime_error(source + ": the weights do not fit the config read from config.json:" + problems);
  }
  return fresh;
}

}  // namespace trol
