// The training curves of runs, for `trol plot` and `trol report`: a run's metrics.jsonl read
// back (one record per logged step), where each stage starts, and loss figures with every
// stage's start marked.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/plots.h"

namespace trol {

// One record `trol train` logs every train.log_every steps (and at each stage's last step).
struct LoggedStep {
  std::string stage;
  int64_t stage_step = 0;   // "step": 1-based within the stage
  int64_t global_step = 0;  // "global_step": 1-based over the run's stages
  double loss = 0, lr = 0;
  std::vector<double> gate_mean;  // per layer; empty with traversal off
};

// The training records of a metrics.jsonl in global-step order. A resumed run logs the steps
// after its checkpoint again, with the same values: the last record of a step wins. The
// periodic evaluation's records ({"global_step", "eval"}) are not training records and are
// passed over. Throws naming file:line on a malformed record, and on a file with no records.
std::vector<LoggedStep> read_training_log(const std::string& metrics_jsonl);

// Where each stage of a run starts, in order: a stage's first global step follows from any of
// its records (global_step - step + 1), however sparsely the run logged.
std::vector<StageStart> stage_starts(const std::vector<LoggedStep>& log);

// A run's loss at every optimizer step it applied, over all its stages, from results.json's
// "training" ([{"stage", "losses": [...]}, ...]): each stage's losses placed from its start
// in `logged_starts` (from metrics.jsonl), or right after the stage before where the log has
// none of it. Steps skipped for a non-finite loss hold no loss: a stage with some draws its
// last losses a few steps early.
struct LossCurve {
  Series series;
  std::vector<StageStart> stage_starts;
};
LossCurve loss_curve(const std::string& label, const nlohmann::ordered_json& training,
                     const std::vector<StageStart>& logged_starts);

// The loss curve of a `trol train` output folder (its results.json's "training", its
// metrics.jsonl's stage starts when it has one).
LossCurve run_loss_curve(const std::string& run_dir, const nlohmann::ordered_json& results);

// The curves of several runs on one figure, every distinct stage start marked once.
void write_loss_figure(const std::string& png_path, const std::string& title, const std::vector<LossCurve>& curves);

// `trol plot`: a run's training curves from its metrics.jsonl, written to `out_dir`: loss.png
// and lr.png (the logged steps against the global step, each stage's start marked) and, when
// the run logged mixing ratios (traversal on), gates.png: the mean ratio of every layer along
// training (rows = layers, columns = the logged steps with gates). Returns the files written.
std::vector<std::string> write_training_figures(const std::string& run_dir, const std::string& out_dir);

}  // namespace trol
