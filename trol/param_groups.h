// Parameter groups by name pattern, so that which parts of a model train is configuration.
//
// Every parameter belongs to the first group whose glob pattern (fnmatch) matches its name:
//   lora       *.lora_A, *.lora_B (adapters, model.lora)
//   vision     vision_model.*
//   projector  vision_proj.*
//   mixer      model.trol_gating.*
//   llm        model.*, lm_head.*, output.*
// Step 1 of the paper = {projector, mixer} trainable; step 2 adds llm (or, with adapters, lora
// and not llm); vision stays frozen.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

namespace trol {

struct ParameterGroup {
  std::string name;
  std::vector<std::string> patterns;
};

class ParameterGroups {
 public:
  ParameterGroups();  // the default groups above
  explicit ParameterGroups(std::vector<ParameterGroup> groups);

  // The group of a parameter name; throws std::invalid_argument when none matches.
  const std::string& group_of(const std::string& parameter_name) const;

  // Throws std::invalid_argument naming `group` and the known groups unless it is one.
  void require_known(const std::string& group) const;

  // Sets requires_grad of every parameter of the named groups. Throws on an unknown group
  // name (listing the known ones) so that a typo in a stage config cannot freeze nothing.
  void set_trainable(torch::nn::Module& module, const std::map<std::string, bool>& trainable) const;

  // Parameter counts per group: {group: {total, trainable}}.
  std::map<std::string, std::pair<int64_t, int64_t>> count(const torch::nn::Module& module) const;

  std::vector<std::string> names() const;

 private:
  std::vector<ParameterGroup> groups_;
};

// The parameters that require grad, in registration order: what an optimizer step updates.
std::vector<torch::Tensor> trainable_parameters(const torch::nn::Module& module);

}  // namespace trol
