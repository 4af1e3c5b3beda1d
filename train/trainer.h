// The trainer: runs the stages of a recipe in order on one model, each stage continuing from
// the weights the previous one left. It writes a resumable checkpoint every
// `train.save_every` steps and at the end of each stage (train/training_checkpoint.h), plus
// the stage's full weights in <output_dir>/checkpoints/<stage>/ for evaluation. With
// `train.resume` it continues a run from a checkpoint, ending with the same weights as a run
// that was never stopped. SIGTERM/SIGINT finish the step, write a checkpoint and stop.
//
// Data parallel (a ProcessGroup of more than one rank): every rank builds the model, takes
// rank 0's weights, trains on its share of every global batch (data/distributed_sampler.h)
// and syncs gradients in buckets during backward (train/distributed/gradient_buckets.h).
// Rank 0 alone writes checkpoints, metrics.jsonl and TensorBoard events, with metrics of
// the global batch; all ranks meet before and after each checkpoint, and agree on stopping.
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "data/batch_loader.h"
#include "train/loss_scaler.h"
#include "train/run_config.h"
#include "train/training_checkpoint.h"
#include "trol/model.h"

namespace trol {

class GradientBuckets;
class ProcessGroup;
class StopSignals;
class TensorBoardWriter;
class Zero1Shards;
struct StageOptimizer;

// How a stage's batches are made: its batch size and length grouping, the data section's
// prefetch, error policy and image normalisation, the model's image size.
BatchLoaderOptions stage_loader_options(const RunConfig& config, const StageConfig& stage, int64_t pad_id, uint64_t seed);

class Trainer {
 public:
  // `group`: the ranks of a data-parallel run (null or a world of 1: one process).
  explicit Trainer(RunConfig config, std::shared_ptr<ProcessGroup> group = nullptr);
  ~Trainer();

  // Every stage's result, those finished before a resumed checkpoint included. After a stop
  // signal it returns early (stopped() is then true) with the stages done so far.
  std::vector<StageResult> train();
  bool stopped() const { return stopped_; }

  TrolModel& model() { return model_; }
  const RunConfig& config() const { return config_; }

 private:
  // Runs stage `index` from its first step, or from `resume` (a checkpoint inside it).
  StageResult run_stage(size_t index, const std::optional<TrainingState>& resume, const std::string& resume_folder);
  // The checkpoint train.resume names: "" when the run starts afresh.
  std::string resume_folder() const;
  std::string save_checkpoint(const TrainingState& state, StageOptimizer& optimizer);
  int64_t steps_before(size_t stage_index) const;
  bool main_rank() const;  // writes checkpoints and logs: rank 0, or the only process

  RunConfig config_;
  TrolModel model_{nullptr};
  torch::Device device_;
  torch::ScalarType dtype_;
  std::set<std::string> trained_;         // parameters some stage so far has trained
  std::vector<StageResult> completed_;
  const StopSignals* stop_ = nullptr;     // set while train() runs
  std::unique_ptr<TensorBoardWriter> tensorboard_;  // one event file per process
  std::unique_ptr<Zero1Shards> zero1_;              // data parallel with distributed.zero1: this stage's shards
  std::optional<LossScaler> loss_scaler_;           // float16 mixed precision only
  bool stopped_ = false;
  std::shared_ptr<ProcessGroup> group_;  // null: one process
};

}  // namespace trol
