#include "trol/param_groups.h"

#include <fnmatch.h>

#include <stdexcept>

namespace trol {

ParameterGroups::ParameterGroups()
    : ParameterGroups({{"lora", {"*.lora_A", "*.lora_B"}},
                       {"vision", {"vision_model.*"}},
                       {"projector", {"vision_proj.*"}},
                       {"mixer", {"model.trol_gating.*"}},
                       {"llm", {"model.*", "lm_head.*", "output.*"}}}) {}

ParameterGroups::ParameterGroups(std::vector<ParameterGroup> groups) : groups_(std::move(groups)) {}

const std::string& ParameterGroups::group_of(const std::string& parameter_name) const {
  for (const auto& group : groups_) {
    for (const auto& pattern : group.patterns) {
      if (fnmatch(pattern.c_str(), parameter_name.c_str(), 0) == 0) return group.name;
    }
  }
  throw std::invalid_argument("parameter '" + parameter_name + "' matches no parameter group");
}

std::vector<std::string> ParameterGroups::names() const {
  std::vector<std::string> out;
  for (const auto& group : groups_) out.push_back(group.name);
  return out;
}

void ParameterGroups::require_known(const std::string& group) const {
  const auto known = names();
  if (std::find(known.begin(), known.end(), group) != known.end()) return;
  std::string list;
  for (const auto& name : known) list += (list.empty() ? "" : ", ") + name;
  throw std::invalid_argument("unknown parameter group '" + group + "' (known: " + list + ")");
}

void ParameterGroups::set_trainable(torch::nn::Module& module, const std::map<std::string, bool>& trainable) const {
  for (const auto& entry : trainable) require_known(entry.first);
  for (auto& p : module.named_parameters()) {
    const auto it = trainable.find(group_of(p.key()));
    if (it != trainable.end()) p.value().set_requires_grad(it->second);
  }
}

std::map<std::string, std::pair<int64_t, int64_t>> ParameterGroups::count(const torch::nn::Module& module) const {
  std::map<std::string, std::pair<int64_t, int64_t>> counts;
  for (const auto& p : module.named_parameters()) {
    auto& c = counts[group_of(p.key())];
    c.first += p.value().numel();
    if (p.value().requires_grad()) c.second += p.value().numel();
  }
  return counts;
}

std::vector<torch::Tensor> trainable_parameters(const torch::nn::Module& module) {
  std::vector<torch::Tensor> out;
  for (const auto& p : module.parameters()) {
    if (p.requires_grad()) out.push_back(p);
  }
  return out;
}

}  // namespace trol
