// Parameter counts of a model, computed from its configuration alone, without building it:
// how a recipe for a real size (configs/trol-*/) is checked on a machine that could not hold
// its weights, and what `trol inspect --count-only` prints. Counts are of the logical
// (full-precision) parameters: quantized projections count as the weights they stand for.
#pragma once

#include <cstdint>
#include <map>
#include <ostream>
#include <string>

#include "trol/model_config.h"

namespace trol {

// By the parameter groups of trol/param_groups.h.
struct ParameterCount {
  int64_t vision = 0;     // vision_model.*
  int64_t projector = 0;  // vision_proj.*
  int64_t mixer = 0;      // model.trol_gating.*: the TroL-Mixer
  int64_t llm = 0;        // the backbone LLM (embeddings, layers, norm, head)
  int64_t lora = 0;       // adapters

  int64_t total() const { return vision + projector + mixer + llm + lora; }
  // The groups that have parameters, by name: what ParameterGroups::count lists for a built model.
  std::map<std::string, int64_t> by_group() const;
};

ParameterCount count_parameters(const ModelConfig& config);

// What `trol inspect` prints: parameters per group and the total, with the image tokens per
// image; count_only from the config alone (count_parameters), otherwise from the built model
// (ParameterGroups::count), with every parameter's name, shape and group when list_parameters.
void print_parameter_groups(const ModelConfig& config, bool count_only, bool list_parameters, std::ostream& out);

}  // namespace trol
