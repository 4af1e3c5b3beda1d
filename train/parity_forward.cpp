#include "train/parity_forward.h"

#include <spdlog/spdlog.h>

#include "train/model_import.h"
#include "train/runtime.h"
#include "trol/safetensors.h"

namespace trol {

void forward_to_file(const ParityForward& request) {
  auto [config, model] = load_model_folder(request.model, request.overrides);
  configure_runtime(config.runtime);
  const auto device = parse_device(config.runtime.device);
  model->to(device, parse_dtype(config.runtime.dtype));
  model->eval();
  auto [ids, mask] = read_input_ids(request.input_ids);
  const auto vocab = config.model.llm.embedding_rows();  // the image token may be past the logits
  if (ids.min().item<int64_t>() < 0 || ids.max().item<int64_t>() >= vocab) {
    throw std::runtime_error(request.input_ids + ": token ids must lie in [0, " + std::to_string(vocab) + ")");
  }
  torch::NoGradGuard no_grad;
  const auto images = read_images(request.images, config.model, config.data, model);
  ModelInputs inputs{ids, mask, images.pixel_values, {}};
  inputs.image_tower_output = images.tower_output;
  const auto output =
      model->forward(to_device(inputs, device, parse_dtype(config.runtime.dtype)), /*collect_gate_ratios=*/true);
  NamedTensors tensors{{"logits", output.logits.to(torch::kCPU, torch::kFloat32)}, {"attention_mask", mask}};
  if (output.gate_ratios.defined()) tensors.emplace_back("gate_ratios", output.gate_ratios.to(torch::kCPU, torch::kFloat32));
  save_safetensors(request.out, tensors, {{"producer", "trol forward"}, {"model", request.model}});
  spdlog::info("wrote {}: logits {}", request.out, c10::str(output.logits.sizes()));
}

}  // namespace trol
