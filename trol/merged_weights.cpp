#include "trol/merged_weights.h"

#include <map>
#include <set>
#include <string>

#include "trol/lora_linear.h"

namespace trol {

MergedTensors merged_model_tensors(TrolModel& model) {
  // Adapted or quantized layers export their merged, dequantized weight; adapters and
  // quantized codes are not written.
  std::map<std::string, torch::Tensor> merged;
  std::set<std::string> dropped;
  MergedTensors out;
  for (const auto& item : model->named_modules()) {
    const auto* linear = dynamic_cast<const LoraLinearImpl*>(item.value().get());
    if (linear == nullptr || (!linear->has_adapter() && linear->quantized() == QuantizeMode::none)) continue;
    merged[item.key() + ".weight"] = linear->merged_weight();
    out.adapters += linear->has_adapter() ? 1 : 0;
    for (const auto& p : linear->named_parameters(/*recurse=*/false)) {
      if (p.key() != "weight" && p.key() != "bias") dropped.insert(item.key() + "." + p.key());
    }
    for (const auto& b : linear->named_buffers(/*recurse=*/false)) dropped.insert(item.key() + "." + b.key());
  }
  for (const auto& p : model->named_parameters()) {
    if (dropped.count(p.key()) != 0) continue;
    const auto found = merged.find(p.key());
    out.tensors.emplace_back(p.key(), found != merged.end() ? found->second : p.value().detach());
  }
  for (const auto& b : model->named_buffers()) {
    if (dropped.count(b.key()) == 0) out.tensors.emplace_back(b.key(), b.value());
  }
  out.merged = static_cast<int64_t>(merged.size());
  return out;
}

}  // namespace trol
