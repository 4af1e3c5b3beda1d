#include "train/training_checkpoint.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>

#include <nlohmann/json.hpp>

#include "train/fault_injection.h"
#include "trol/compat.h"
#include "trol/generator_state.h"
#include "trol/safetensors.h"

namespace trol {
namespace fs = std::filesystem;
namespace {

constexpr int kFormat = 1;
const char* const kFiles[] = {"model.safetensors", "optimizer.safetensors", "rng.safetensors", "trainer_state.json",
                              "config.yaml"};

nlohmann::json stage_to_json(const StageResult& s) {
  return {{"name", s.name}, {"losses", s.losses}, {"checkpoint", s.checkpoint}, {"seconds", s.seconds}, {"tokens", s.tokens}};
}

StageResult stage_from_json(const nlohmann::json& j) {
  StageResult s;
  s.name = j.at("name").get<std::string>();
  s.losses = j.at("losses").get<std::vector<double>>();
  s.checkpoint = j.at("checkpoint").get<std::string>();
  s.seconds = j.at("seconds").get<double>();
  s.tokens = j.at("tokens").get<int64_t>();
  return s;
}

nlohmann::json state_to_json(const TrainingState& s) {
  nlohmann::json completed = nlohmann::json::array();
  for (const auto& c : s.completed) completed.push_back(stage_to_json(c));
  return {{"format", kFormat},
          {"trol_version", TROL_VERSION},
          {"global_step", s.global_step},
          {"stage_index", s.stage_index},
          {"stage_step", s.stage_step},
          {"stage_names", s.stage_names},
          {"loader_position", s.loader_position},
          {"bad_steps_in_a_row", s.bad_steps_in_a_row},
          {"loss_scale", s.loss_scaler.scale},
          {"loss_scale_clean_steps", s.loss_scaler.clean_steps},
          {"stage", stage_to_json(s.stage)},
          {"completed", completed}};
}

TrainingState state_from_json(const nlohmann::json& j) {
  if (j.at("format").get<int>() != kFormat) {
    throw std::runtime_error("checkpoint format " + j.at("format").dump() + " (this trol reads " +
                             std::to_string(kFormat) + ")");
  }
  TrainingState s;
  s.global_step = j.at("global_step").get<int64_t>();
  s.stage_index = j.at("stage_index").get<int64_t>();
  s.stage_step = j.at("stage_step").get<int64_t>();
  s.stage_names = j.at("stage_names").get<std::vector<std::string>>();
  s.loader_position = j.at("loader_position").get<int64_t>();
  s.bad_steps_in_a_row = j.at("bad_steps_in_a_row").get<int64_t>();
  s.loss_scaler.scale = j.at("loss_scale").get<double>();
  s.loss_scaler.clean_steps = j.at("loss_scale_clean_steps").get<int64_t>();
  s.stage = stage_from_json(j.at("stage"));
  for (const auto& c : j.at("completed")) s.completed.push_back(stage_from_json(c));
  return s;
}

// CRC-32 (zlib's) of a whole file, read in chunks.
uint32_t file_crc32(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::vector<char> chunk(1 << 20);
  uLong crc = crc32(0L, Z_NULL, 0);
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(chunk.data()), static_cast<uInt>(in.gcount()));
  }
  return static_cast<uint32_t>(crc);
}

void fsync_folder(const fs::path& folder) {
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

// step-<N> folders under `dir`, oldest first.
std::vector<std::pair<int64_t, fs::path>> step_folders(const fs::path& dir) {
  static const std::regex name("step-([0-9]+)");
  std::vector<std::pair<int64_t, fs::path>> found;
  if (!fs::is_directory(dir)) return found;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::smatch match;
    const auto filename = entry.path().filename().string();
    if (entry.is_directory() && std::regex_match(filename, match, name)) {
      found.emplace_back(std::stoll(match[1].str()), entry.path());
    }
  }
  std::sort(found.begin(), found.end());
  return found;
}

torch::optim::AdamW& as_adamw(torch::optim::Optimizer& optimizer) {
  auto* adamw = dynamic_cast<torch::optim::AdamW*>(&optimizer);
  if (adamw == nullptr) throw std::logic_error("training checkpoints hold AdamW state only");
  return *adamw;
}

NamedTensors optimizer_tensors(const torch::nn::Module& model, torch::optim::Optimizer& optimizer) {
  auto& states = as_adamw(optimizer).state();
  NamedTensors tensors;
  for (const auto& p : model.named_parameters()) {
    const auto found = states.find(compat::optimizer_state_key(p.value()));
    if (found == states.end()) continue;
    const auto& state = static_cast<const torch::optim::AdamWParamState&>(*found->second);
    tensors.emplace_back(p.key() + ".exp_avg", state.exp_avg());
    tensors.emplace_back(p.key() + ".exp_avg_sq", state.exp_avg_sq());
    tensors.emplace_back(p.key() + ".step", torch::tensor(state.step(), torch::kInt64));
  }
  return tensors;
}

torch::Device cuda_device(int64_t index) { return {torch::kCUDA, static_cast<c10::DeviceIndex>(index)}; }

NamedTensors generator_states() {
  NamedTensors tensors{{"cpu", generator_state(torch::kCPU)}};
  for (int64_t i = 0; torch::cuda::is_available() && i < static_cast<int64_t>(torch::cuda::device_count()); ++i) {
    tensors.emplace_back("cuda." + std::to_string(i), generator_state(cuda_device(i)));
  }
  return tensors;
}

}  // namespace

std::string write_training_checkpoint(const std::string& checkpoints_dir, const CheckpointContents& contents,
                                      int64_t keep_last) {
  const auto& state = *contents.state;
  const fs::path dir(checkpoints_dir);
  const auto name = "step-" + std::to_string(state.global_step);
  const auto final_folder = dir / name;
  const auto building = dir / (name + ".tmp");
  fs::create_directories(dir);
  for (const auto& entry : fs::directory_iterator(dir)) {  // left by a run killed while writing
    if (entry.path().extension() == ".tmp") fs::remove_all(entry.path());
  }
  fs::create_directories(building);

  NamedTensors weights;
  for (const auto& p : contents.model->named_parameters()) {
    if (contents.trained->count(p.key()) != 0) weights.emplace_back(p.key(), p.value());
  }
  save_safetensors((building / "model.safetensors").string(), weights, {{"format", "pt"}, {"producer", "trol"}});
  fault_point("mid_checkpoint", state.global_step);
  save_safetensors((building / "optimizer.safetensors").string(), optimizer_tensors(*contents.model, *contents.optimizer));
  auto generators = generator_states();
  generators.insert(generators.end(), contents.rank_generator_states.begin(), contents.rank_generator_states.end());
  save_safetensors((building / "rng.safetensors").string(), generators);
  write_file_atomically((building / "trainer_state.json").string(), state_to_json(state).dump(2) + "\n");
  write_file_atomically((building / "config.yaml").string(), contents.config_yaml);
  nlohmann::json manifest{{"format", kFormat}, {"files", nlohmann::json::object()}};
  for (const char* file : kFiles) {
    manifest["files"][file] = {{"bytes", fs::file_size(building / file)}, {"crc32", file_crc32(building / file)}};
  }
  write_file_atomically((building / "manifest.json").string(), manifest.dump(2) + "\n");

  // A folder of the same name is an older try at this step (a resume from before it):
  // moved aside first so that a complete step-<N> exists at every moment after this one.
  const auto replaced = dir / (name + ".old.tmp");
  if (fs::exists(final_folder)) fs::rename(final_folder, replaced);
  fs::rename(building, final_folder);
  fsync_folder(dir);
  if (fs::exists(replaced)) fs::remove_all(replaced);

  auto folders = step_folders(dir);
  const auto keep = static_cast<size_t>(std::max<int64_t>(keep_last, 1));
  for (size_t i = 0; i + keep < folders.size(); ++i) fs::remove_all(folders[i].second);
  return final_folder.string();
}

TrainingState read_training_checkpoint(const std::string& folder) {
  const fs::path dir(folder);
  if (!fs::is_directory(dir)) throw std::runtime_error(folder + ": no such checkpoint folder");
  const auto manifest_path = dir / "manifest.json";
  std::ifstream manifest_file(manifest_path);
  if (!manifest_file) throw std::runtime_error(manifest_path.string() + " is missing (an incomplete checkpoint)");
  nlohmann::json manifest;
  try {
    manifest = nlohmann::json::parse(manifest_file);
  } catch (const std::exception& e) {
    throw std::runtime_error(manifest_path.string() + ": " + e.what());
  }
  for (const char* file : kFiles) {
    const auto path = dir / file;
    if (!manifest["files"].contains(file)) throw std::runtime_error(manifest_path.string() + " does not list " + file);
    const auto& expected = manifest["files"][file];
    if (!fs::exists(path)) throw std::runtime_error(path.string() + " is missing");
    if (fs::file_size(path) != expected.at("bytes").get<uintmax_t>()) {
      throw std::runtime_error(path.string() + " has " + std::to_string(fs::file_size(path)) + " bytes, the manifest " +
                               expected.at("bytes").dump());
    }
    if (file_crc32(path) != expected.at("crc32").get<uint32_t>()) {
      throw std::runtime_error(path.string() + " does not match its checksum in the manifest (damaged)");
    }
  }
  const auto state_path = dir / "trainer_state.json";
  try {
    std::ifstream in(state_path);
    return state_from_json(nlohmann::json::parse(in));
  } catch (const std::exception& e) {
    throw std::runtime_error(state_path.string() + ": " + e.what());
  }
}

std::optional<std::string> find_latest_checkpoint(const std::string& checkpoints_dir) {
  auto folders = step_folders(checkpoints_dir);
  for (auto it = folders.rbegin(); it != folders.rend(); ++it) {
    try {
      read_training_checkpoint(it->second.string());
      return it->second.string();
    } catch (const std::exception& e) {
      spdlog::warn("skipping checkpoint {}: {}", it->second.string(), e.what());
    }
  }
  return std::nullopt;
}

std::vector<std::string> restore_training_checkpoint(const std::string& folder, torch::nn::Module& model,
                                                     torch::optim::Optimizer& optimizer) {
  const fs::path dir(folder);
  torch::NoGradGuard no_grad;
  std::map<std::string, torch::Tensor> parameters;
  for (auto& p : model.named_parameters()) parameters.emplace(p.key(), p.value());

  const auto weights_path = (dir / "model.safetensors").string();
  std::vector<std::string> loaded;
  for (const auto& [name, saved] : load_safetensors(weights_path).tensors) {
    loaded.push_back(name);
    const auto found = parameters.find(name);
    if (found == parameters.end()) throw std::runtime_error(weights_path + ": the model has no parameter " + name);
    if (found->second.sizes() != saved.sizes()) {
      throw std::runtime_error(weights_path + ": shape of " + name + ": checkpoint " + c10::str(saved.sizes()) +
                               ", model " + c10::str(found->second.sizes()));
    }
    found->second.copy_(saved);
  }

  const auto optimizer_path = (dir / "optimizer.safetensors").string();
  auto saved = load_safetensors(optimizer_path).tensors;
  auto& states = as_adamw(optimizer).state();
  std::set<compat::OptimizerStateKey> optimized;
  for (const auto& group : optimizer.param_groups()) {
    for (const auto& p : group.params()) optimized.insert(compat::optimizer_state_key(p));
  }
  states.clear();
  for (const auto& [name, parameter] : parameters) {
    const auto step = saved.find(name + ".step");
    if (step == saved.end()) continue;
    const auto key = compat::optimizer_state_key(parameter);
    if (optimized.count(key) == 0) {
      throw std::runtime_error(optimizer_path + " holds state for " + name + ", which this stage does not train");
    }
    auto state = std::make_unique<torch::optim::AdamWParamState>();
    state->step(step->second.item<int64_t>());
    for (const char* moment : {".exp_avg", ".exp_avg_sq"}) {
      const auto found = saved.find(name + moment);
      if (found == saved.end() || found->second.sizes() != parameter.sizes()) {
        throw std::runtime_error(optimizer_path + ": " + name + moment + " is missing or mis-shaped");
      }
    }
    state->exp_avg(saved.at(name + ".exp_avg").to(parameter.options()).contiguous());
    state->exp_avg_sq(saved.at(name + ".exp_avg_sq").to(parameter.options()).contiguous());
    states[key] = std::move(state);
    saved.erase(name + ".step");
    saved.erase(name + ".exp_avg");
    saved.erase(name + ".exp_avg_sq");
  }
  if (!saved.empty()) throw std::runtime_error(optimizer_path + ": state for no parameter of the model: " + saved.begin()->first);

  const auto rng_path = (dir / "rng.safetensors").string();
  for (const auto& [name, state] : load_safetensors(rng_path).tensors) {
    if (name == "cpu") {
      set_generator_state(torch::kCPU, state);
    } else if (name.rfind("cuda.", 0) == 0 && torch::cuda::is_available()) {
      const auto index = std::stoi(name.substr(5));
      if (index >= static_cast<int>(torch::cuda::device_count())) continue;  // fewer GPUs now: those streams restart
      set_generator_state(cuda_device(index), state);
    }
  }
  return loaded;
}

bool restore_rank_generator_states(const std::string& folder, int64_t rank, int64_t world_size, torch::Device device) {
  const auto path = (std::filesystem::path(folder) / "rng.safetensors").string();
  const auto tensors = load_safetensors(path).tensors;
  const auto saved_world = tensors.find("world_size");
  if (saved_world == tensors.end() || saved_world->second.item<int64_t>() != world_size) return false;
  const auto suffix = ".rank" + std::to_string(rank);
  const auto cpu = tensors.find("cpu" + suffix);
  if (cpu == tensors.end()) throw std::runtime_error(path + ": no generator state for rank " + std::to_string(rank));
  set_generator_state(torch::kCPU, cpu->second);
  const auto cuda = tensors.find("cuda" + suffix);
  if (cuda != tensors.end() && device.is_cuda()) set_generator_state(device, cuda->second);
  return true;
}

}  // namespace trol
