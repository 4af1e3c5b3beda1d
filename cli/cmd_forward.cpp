// trol forward --model DIR --input-ids FILE.json [--pixel-values FILE | --image FILE... | --image-features FILE]
//              --out FILE.safetensors [key.path=value ...]:
// one forward pass on given token ids (and images), writing the logits and the per-layer mixing ratios,
// the tool to check a port against the original implementation. DIR is a trol checkpoint
// folder (config.yaml + model.safetensors) or a Hugging Face backbone folder (imported on the
// fly, with fresh gates: pass model.trol.traversal=false to get the backbone's own logits).
// --image-features takes the vision tower's output from elsewhere (cli/model_inputs.h), so the
// language side of a port can be checked without the tower, and the tower separately.
#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "cli/model_inputs.h"
#include "train/model_import.h"
#include "train/runtime.h"
#include "trol/safetensors.h"

namespace trol::cli {

void add_forward_command(CLI::App& app) {
  struct Args {
    std::string model, input_ids, out;
    ImageFiles images;
    std::vector<std::string> overrides;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("forward", "Run one forward pass on token ids; write logits and mixing ratios");
  cmd->add_option("--model", args->model, "trol checkpoint folder, or a Hugging Face backbone folder")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--input-ids", args->input_ids, "JSON: [[token ids], ...]")->required()->check(CLI::ExistingFile);
  add_image_options(cmd, args->images);
  cmd->add_option("--out", args->out, "safetensors file to write (logits, attention_mask, gate_ratios)")->required();
  cmd->add_option("overrides", args->overrides, "key.path=value settings of the model's config");
  cmd->callback([args] {
    auto [config, model] = load_model_folder(args->model, args->overrides);
    configure_runtime(config.runtime);
    const auto device = parse_device(config.runtime.device);
    model->to(device, parse_dtype(config.runtime.dtype));
    model->eval();
    auto [ids, mask] = read_input_ids(args->input_ids);
    const auto vocab = config.model.llm.embedding_rows();  // the image token may be past the logits
    if (ids.min().item<int64_t>() < 0 || ids.max().item<int64_t>() >= vocab) {
      throw std::runtime_error(args->input_ids + ": token ids must lie in [0, " + std::to_string(vocab) + ")");
    }
    torch::NoGradGuard no_grad;
    const auto images = read_images(args->images, config.model, config.data, model);
    ModelInputs inputs{ids, mask, images.pixel_values, {}};
    inputs.image_tower_output = images.tower_output;
    const auto output =
        model->forward(to_device(inputs, device, parse_dtype(config.runtime.dtype)), /*collect_gate_ratios=*/true);
    NamedTensors tensors{{"logits", output.logits.to(torch::kCPU, torch::kFloat32)}, {"attention_mask", mask}};
    if (output.gate_ratios.defined()) tensors.emplace_back("gate_ratios", output.gate_ratios.to(torch::kCPU, torch::kFloat32));
    save_safetensors(args->out, tensors, {{"producer", "trol forward"}, {"model", args->model}});
    spdlog::info("wrote {}: logits {}", args->out, c10::str(output.logits.sizes()));
  });
}

}  // namespace trol::cli
