#include "train/model_import.h"

#include <spdlog/spdlog.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>

#include "train/checkpoint.h"
#include "trol/config_reader.h"
#include "trol/hf_import.h"
#include "trol/safetensors.h"

namespace trol {

ImportedModel import_hf_model(const std::string& llm_dir, const std::string& vision_dir,
                              const std::vector<std::string>& overrides, const std::string& config_file,
                              const std::string& gating_file) {
  auto folders = read_hf_model_folders(llm_dir, vision_dir, gating_file);
  YAML::Node root;
  root["model"] = folders.model;
  YAML::Emitter emitter;
  emitter << root;
  write_file_atomically(config_file, "# imported by trol import from " + llm_dir +
                                         (vision_dir.empty() ? "" : " and " + vision_dir) + "\n" + emitter.c_str() + "\n");
  ImportedModel out;
  out.config = load_run_config(config_file, overrides);
  if (!overrides.empty()) write_file_atomically(config_file, out.config.effective_yaml);
  out.notes = std::move(folders.notes);
  if (out.config.model.quantize != "none") {
    throw ConfigError("model.quantize: an import keeps full-precision weights; quantize in the training config "
                      "(train.init_from quantizes the weights as they load)");
  }

  torch::manual_seed(out.config.runtime.seed);  // the fresh gates and projector
  out.model = TrolModel(out.config.model);
  const auto fresh = load_hf_weights_into(out.model, std::move(folders.weights),
                                          llm_dir + (vision_dir.empty() ? "" : " + " + vision_dir));
  out.notes.push_back(std::to_string(fresh) + " parameters start fresh (TroL gates, projector, adapters), seed " +
                      std::to_string(out.config.runtime.seed));
  if (folders.skipped > 0) {
    out.notes.push_back(std::to_string(folders.skipped) + " checkpoint tensors trol does not use were skipped");
  }
  return out;
}

LoadedModel load_model_folder(const std::string& dir, const std::vector<std::string>& overrides) {
  namespace fs = std::filesystem;
  LoadedModel loaded;
  if (is_hf_model_dir(dir)) {
    const auto scratch = fs::temp_directory_path() / ("trol_forward_" + std::to_string(::getpid()));
    fs::create_directories(scratch);
    try {
      auto imported = import_hf_model(dir, "", overrides, (scratch / "config.yaml").string());
      for (const auto& note : imported.notes) spdlog::info("{}", note);
      loaded.config = std::move(imported.config);
      loaded.model = imported.model;
    } catch (...) {
      fs::remove_all(scratch);
      throw;
    }
    fs::remove_all(scratch);
    return loaded;
  }
  loaded.config = load_run_config(dir + "/config.yaml", overrides);
  loaded.model = TrolModel(loaded.config.model);
  load_model_weights(dir + "/model.safetensors", *loaded.model);
  return loaded;
}

void import_to_checkpoint(const HfImport& request) {
  namespace fs = std::filesystem;
  for (const auto& source : {request.llm, request.vision}) {
    if (!source.empty() && fs::exists(request.out) && fs::equivalent(source, request.out)) {
      throw std::runtime_error("--out must be a folder of its own, not " + source);
    }
  }
  fs::create_directories(request.out);
  const auto imported =
      import_hf_model(request.llm, request.vision, request.overrides, request.out + "/config.yaml", request.gating);
  for (const auto& note : imported.notes) spdlog::info("{}", note);
  NamedTensors tensors;
  for (const auto& p : imported.model->named_parameters()) tensors.emplace_back(p.key(), p.value());
  for (const auto& b : imported.model->named_buffers()) tensors.emplace_back(b.key(), b.value());
  save_safetensors(request.out + "/model.safetensors", tensors, {{"format", "pt"}, {"producer", "trol import"}});
  spdlog::info("wrote {} ({} tensors)", request.out, tensors.size());
}

}  // namespace trol
