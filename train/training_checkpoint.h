// Resumable checkpoints: <output_dir>/checkpoints/step-<N>/, N the optimizer steps done over
// all stages, holding everything a run needs to continue as if never stopped:
//   model.safetensors      the weights trained so far (every parameter some stage up to this
//                          one trains; the rest are rebuilt from the seed and train.init_from)
//   optimizer.safetensors  AdamW's moments and step count per parameter, "<name>.exp_avg" ...
//   rng.safetensors        LibTorch's generator states ("cpu", "cuda.<i>"); data parallel, also
//                          every other rank's ("cpu.rank<r>", "cuda.rank<r>", "world_size")
//   trainer_state.json     stage, step, data-sampler position, losses so far, trol version
//   config.yaml            the resolved config
//   manifest.json          size and CRC-32 of each file above; written last
// A checkpoint is built in step-<N>.tmp/ (every file fsynced) and renamed into place, so a
// folder named step-<N> is complete unless its files were damaged later, which the manifest
// catches. `train.resume=auto` takes the newest one whose manifest checks out.
#pragma once

#include <torch/torch.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "train/loss_scaler.h"

namespace trol {

struct StageResult {
  std::string name;
  std::vector<double> losses;  // per applied optimizer step
  std::string checkpoint;      // folder written at the end of the stage
  double seconds = 0;
  int64_t tokens = 0;
};

struct TrainingState {
  int64_t global_step = 0;      // optimizer steps done over all stages (skipped ones included)
  int64_t stage_index = 0;      // the stage in progress (or just finished)
  int64_t stage_step = 0;       // its steps done; == its steps when the stage is finished
  std::vector<std::string> stage_names;  // the run's stages, which a resumed run must share
  int64_t loader_position = 0;  // the stage's data sampler position (Batch::sampler_position)
  int64_t bad_steps_in_a_row = 0;
  LossScalerState loss_scaler;  // float16 mixed precision's dynamic loss scale
  StageResult stage;            // the stage in progress, so far
  std::vector<StageResult> completed;  // the stages before it
};

struct CheckpointContents {
  const TrainingState* state;
  const torch::nn::Module* model;
  const std::set<std::string>* trained;  // parameter names saved in model.safetensors
  torch::optim::Optimizer* optimizer;
  std::string config_yaml;
  std::vector<std::pair<std::string, torch::Tensor>> rank_generator_states;  // data parallel: ranks 1.. (see above)
};

// Writes checkpoints_dir/step-<state.global_step>/ (replacing one of that name), then removes
// the oldest step-* folders beyond `keep_last`. Returns the folder.
std::string write_training_checkpoint(const std::string& checkpoints_dir, const CheckpointContents& contents,
                                      int64_t keep_last);

// Checks a checkpoint folder against its manifest and reads its state; throws
// std::runtime_error saying what is missing, truncated or damaged.
TrainingState read_training_checkpoint(const std::string& folder);

// The newest checkpoint under checkpoints_dir that reads back whole; warns about each newer
// one it passes over. nullopt when there is none.
std::optional<std::string> find_latest_checkpoint(const std::string& checkpoints_dir);

// Loads the checkpoint's weights into `model` (parameters absent from it keep theirs), its
// optimizer state into `optimizer` (which must hold every parameter the state names), and
// the generator states. Returns the names of the weights it loaded. Throws
// std::runtime_error naming the file and tensor on a mismatch.
std::vector<std::string> restore_training_checkpoint(const std::string& folder, torch::nn::Module& model, torch::optim::Optimizer& optimizer);

// Data parallel: puts back rank `rank`'s own generator states, CPU and (when `device` is a GPU)
// that device's (rank 0's are the plain ones restore_training_checkpoint restores). False when
// the checkpoint was written by another number of ranks (or one process), whose streams
// cannot carry over.
bool restore_rank_generator_states(const std::string& folder, int64_t rank, int64_t world_size, torch::Device device);

}  // namespace trol
