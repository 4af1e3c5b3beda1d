// trol forward --model DIR --input-ids FILE.json [--pixel-values FILE | --image FILE...]
//              --out FILE.safetensors [key.path=value ...]:
// one forward pass on given token ids (and images), writing the logits and the per-layer mixing ratios,
// the tool to check a port against the original implementation. DIR is a trol checkpoint
// folder (config.yaml + model.safetensors) or a Hugging Face backbone folder (imported on the
// fly, with fresh gates: pass model.trol.traversal=false to get the backbone's own logits).
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/hf_import.h"
#include "data/image_ops.h"
#include "train/checkpoint.h"
#include "train/runtime.h"
#include "trol/safetensors.h"

namespace trol::cli {
namespace {

// `[[ids...], ...]` (rows may differ in length: right-padded, masked) or one row `[ids...]`.
std::pair<torch::Tensor, torch::Tensor> read_input_ids(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot be read");
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(path + ": not valid JSON: " + e.what());
  }
  if (json.is_array() && !json.empty() && json[0].is_number_integer()) json = nlohmann::json::array({json});
  if (!json.is_array() || json.empty()) throw std::runtime_error(path + ": expected [[token ids], ...] or [token ids]");
  size_t longest = 0;
  for (size_t row = 0; row < json.size(); ++row) {
    if (!json[row].is_array() || json[row].empty()) {
      throw std::runtime_error(path + ": row " + std::to_string(row) + " is not a non-empty list of token ids");
    }
    longest = std::max(longest, json[row].size());
  }
  const auto rows = static_cast<int64_t>(json.size());
  auto ids = torch::zeros({rows, static_cast<int64_t>(longest)}, torch::kLong);
  auto mask = torch::zeros_like(ids);
  for (int64_t row = 0; row < rows; ++row) {
    for (size_t i = 0; i < json[row].size(); ++i) {
      const auto& id = json[row][i];
      if (!id.is_number_integer()) {
        throw std::runtime_error(path + ": row " + std::to_string(row) + ", position " + std::to_string(i) +
                                 " is not an integer token id");
      }
      ids[row][static_cast<int64_t>(i)] = id.get<int64_t>();
      mask[row][static_cast<int64_t>(i)] = 1;
    }
  }
  return {ids, mask};
}

// The images of the batch, in reading order: a safetensors file's `pixel_values` tensor
// [images, channels, size, size] as the other implementation preprocessed them (the exact
// comparison), or image files preprocessed as trol's data pipeline does (the config's
// data.image_mean / image_std, and its tiling: an image of several tiles fills as many runs'
// worth of image tokens).
torch::Tensor read_pixels(const std::string& pixel_file, const std::vector<std::string>& images, const RunConfig& config) {
  if (!pixel_file.empty()) {
    auto file = load_safetensors(pixel_file);
    const auto found = file.tensors.find("pixel_values");
    if (found == file.tensors.end()) throw std::runtime_error(pixel_file + ": has no tensor named pixel_values");
    return found->second.to(torch::kFloat32);
  }
  if (images.empty()) return {};
  std::vector<torch::Tensor> pixels;
  for (const auto& image : images) {
    pixels.push_back(image_to_tiles(load_rgb(image), config.model.vision.image_size, config.data));
  }
  return torch::cat(pixels);
}

}  // namespace

void add_forward_command(CLI::App& app) {
  struct Args {
    std::string model, input_ids, out, pixel_values;
    std::vector<std::string> images, overrides;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("forward", "Run one forward pass on token ids; write logits and mixing ratios");
  cmd->add_option("--model", args->model, "trol checkpoint folder, or a Hugging Face backbone folder")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--input-ids", args->input_ids, "JSON: [[token ids], ...]")->required()->check(CLI::ExistingFile);
  auto* pixels_option = cmd->add_option("--pixel-values", args->pixel_values,
                                        "safetensors file whose pixel_values [images, 3, size, size] fill the image tokens")
                            ->check(CLI::ExistingFile);
  cmd->add_option("--image", args->images, "image files for the image tokens, in order (resized, normalised)")
      ->check(CLI::ExistingFile)
      ->excludes(pixels_option);
  cmd->add_option("--out", args->out, "safetensors file to write (logits, attention_mask, gate_ratios)")->required();
  cmd->add_option("overrides", args->overrides, "key.path=value settings of the model's config");
  cmd->callback([args] {
    namespace fs = std::filesystem;
    RunConfig config;
    TrolModel model{nullptr};
    if (is_hf_model_dir(args->model)) {
      const auto scratch = fs::temp_directory_path() / ("trol_forward_" + std::to_string(::getpid()));
      fs::create_directories(scratch);
      try {
        auto imported = import_hf_model(args->model, "", args->overrides, (scratch / "config.yaml").string());
        for (const auto& note : imported.notes) spdlog::info("{}", note);
        config = std::move(imported.config);
        model = imported.model;
      } catch (...) {
        fs::remove_all(scratch);
        throw;
      }
      fs::remove_all(scratch);
    } else {
      config = load_run_config(args->model + "/config.yaml", args->overrides);
      model = TrolModel(config.model);
      load_model_weights(args->model + "/model.safetensors", *model);
    }
    configure_runtime(config.runtime);
    const auto device = parse_device(config.runtime.device);
    model->to(device, parse_dtype(config.runtime.dtype));
    model->eval();
    auto [ids, mask] = read_input_ids(args->input_ids);
    const auto vocab = config.model.llm.vocab_size;
    if (ids.min().item<int64_t>() < 0 || ids.max().item<int64_t>() >= vocab) {
      throw std::runtime_error(args->input_ids + ": token ids must lie in [0, " + std::to_string(vocab) + ")");
    }
    torch::NoGradGuard no_grad;
    auto pixels = read_pixels(args->pixel_values, args->images, config);
    if (pixels.defined()) pixels = pixels.to(device, parse_dtype(config.runtime.dtype));
    const auto output = model->forward(ModelInputs{ids.to(device), mask.to(device), pixels, {}}, /*collect_gate_ratios=*/true);
    NamedTensors tensors{{"logits", output.logits.to(torch::kCPU, torch::kFloat32)}, {"attention_mask", mask}};
    if (output.gate_ratios.defined()) tensors.emplace_back("gate_ratios", output.gate_ratios.to(torch::kCPU, torch::kFloat32));
    save_safetensors(args->out, tensors, {{"producer", "trol forward"}, {"model", args->model}});
    spdlog::info("wrote {}: logits {}", args->out, c10::str(output.logits.sizes()));
  });
}

}  // namespace trol::cli
