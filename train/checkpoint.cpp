#include "train/checkpoint.h"

#include <filesystem>
#include <set>

#include "trol/lora_linear.h"
#include "trol/safetensors.h"

#include <spdlog/spdlog.h>

namespace trol {

std::string save_stage_checkpoint(const std::string& folder, torch::nn::Module& model, const std::string& config_yaml,
                                  const nlohmann::json& trainer_state) {
  std::filesystem::create_directories(folder);
  NamedTensors tensors;
  for (const auto& p : model.named_parameters()) tensors.emplace_back(p.key(), p.value());
  for (const auto& b : model.named_buffers()) tensors.emplace_back(b.key(), b.value());
  save_safetensors(folder + "/model.safetensors", tensors, {{"format", "pt"}, {"producer", "trol"}});
  write_file_atomically(folder + "/config.yaml", config_yaml);
  write_file_atomically(folder + "/trainer_state.json", trainer_state.dump(2) + "\n");
  return folder;
}

void load_model_weights(const std::string& safetensors_file, torch::nn::Module& model) {
  auto file = load_safetensors(safetensors_file);
  std::string problems;
  torch::NoGradGuard no_grad;
  int64_t fresh_adapters = 0;
  auto assign = [&](const std::string& name, torch::Tensor& target) {
    const auto it = file.tensors.find(name);
    if (it == file.tensors.end()) {
      // Weights saved before adapters were added: the adapters start as built (B = 0: no change).
      const auto ends_with = [&](const std::string& suffix) {
        return name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
      };
      if (ends_with(".lora_A") || ends_with(".lora_B")) {
        ++fresh_adapters;
      } else {
        problems += "\n  missing: " + name;
      }
      return;
    }
    if (it->second.sizes() != target.sizes()) {
      problems += "\n  shape of " + name + ": file " + c10::str(it->second.sizes()) + ", model " + c10::str(target.sizes());
    } else {
      target.copy_(it->second);
    }
    file.tensors.erase(it);
  };
  // A full-precision weight for a layer stored quantized (model.quantize) is quantized as it
  // loads, which is how a QLoRA run starts from a backbone; its quantized buffers then come
  // from it rather than from the file.
  std::set<std::string> quantized_here;
  for (const auto& item : model.named_modules("", /*include_self=*/false)) {
    auto* linear = dynamic_cast<LoraLinearImpl*>(item.value().get());
    if (linear == nullptr || linear->quantized() == QuantizeMode::none) continue;
    const auto full = file.tensors.find(item.key() + ".weight");
    if (full == file.tensors.end() || full->second.numel() == 0) continue;
    if (full->second.dim() != 2 || full->second.size(1) != linear->options.in_features() ||
        full->second.size(0) != linear->options.out_features()) {
      problems += "\n  shape of " + full->first + ": file " + c10::str(full->second.sizes()) + ", model [" +
                  std::to_string(linear->options.out_features()) + ", " + std::to_string(linear->options.in_features()) + "]";
    } else {
      linear->quantize_base(linear->quantized(), full->second);
    }
    file.tensors.erase(full);
    for (const auto& b : linear->named_buffers(/*recurse=*/false)) quantized_here.insert(item.key() + "." + b.key());
    quantized_here.insert(item.key() + ".weight");
  }
  for (auto& p : model.named_parameters()) {
    if (quantized_here.count(p.key()) == 0) assign(p.key(), p.value());
  }
  for (auto& b : model.named_buffers()) {
    if (quantized_here.count(b.key()) == 0) assign(b.key(), b.value());
  }
  for (const auto& extra : file.tensors) problems += "\n  unexpected: " + extra.first;
  if (!problems.empty()) {
    throw std::runtime_error(safetensors_file + " does not match the model:" + problems);
  }
  if (fresh_adapters > 0) spdlog::info("{} has no LoRA adapters: {} adapter matrices start afresh", safetensors_file, fresh_adapters);
}

}  // namespace trol
