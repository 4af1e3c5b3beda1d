// The training recipe: an output folder and a list of stages run in order, each continuing
// from the weights the previous one left. The paper's two steps, and the embedded default's
// preliminary pretraining, are stages that differ only in data and trainable groups.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace trol {

class ConfigReader;

struct StageConfig {
  std::string name;                       // used in logs and checkpoint folder names
  std::vector<std::string> datasets;      // LLaVA-format files, relative to data.root
  std::map<std::string, bool> trainable;  // parameter group -> trains (absent: as the model was built)
  int64_t steps = 100;                    // optimizer steps
  int64_t batch_size = 16;                // samples per micro-batch
  int64_t grad_accum = 1;                 // micro-batches per optimizer step
  double learning_rate = 1e-3;            // peak learning rate
  std::map<std::string, double> learning_rate_scale;  // parameter group -> factor on learning_rate (absent: 1)
  double min_lr_ratio = 0.1;              // cosine decays to learning_rate * min_lr_ratio
  int64_t warmup_steps = 0;               // linear warm-up from 0
  double weight_decay = 0.0;              // AdamW decoupled decay (never on norms, biases, gates)
  double beta1 = 0.9, beta2 = 0.999;      // AdamW moments
  double eps = 1e-8;                      // AdamW's epsilon (added to the second moment's root)
  double max_grad_norm = 1.0;             // clip the global gradient norm (0: off)
  bool group_by_length = false;           // batches of similar length (less padding)
};

struct TrainConfig {
  std::string output_dir = "runs/train";  // checkpoints, metrics.jsonl, plots
  int64_t log_every = 10;                 // steps between progress lines / metric records
  std::string init_from;                  // model.safetensors to start from ("": fresh weights)
  double step_scale = 1.0;                // multiplies every stage's steps and warm-up (a time budget knob)
  int64_t save_every = 0;                 // optimizer steps between resumable checkpoints (0: only at stage ends)
  int64_t keep_checkpoints = 3;           // resumable checkpoints kept (the newest ones)
  std::string resume;                     // "": start afresh; "auto": the newest complete checkpoint of
                                          // output_dir, if any; or a checkpoint folder (step-<N>)
  bool activation_checkpointing = false;  // recompute each TroL layer in backward instead of keeping
                                          // its activations (less memory, ~1 more forward of compute)
  int64_t max_bad_steps = 10;             // consecutive steps skipped for a non-finite loss or
                                          // gradient before the run stops with an error
  std::vector<StageConfig> stages;
};

TrainConfig read_train_config(ConfigReader& reader);

// Keeps only the named stages, in the config's order (`trol train --stages`). Throws
// ConfigError naming an unknown stage and listing the config's stages.
void keep_stages(TrainConfig& config, const std::vector<std::string>& names);

}  // namespace trol
