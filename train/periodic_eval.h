// Evaluation inside a training run: what the ranks of a process group look like to the
// evaluator, and the eval.every_steps evaluation whose metrics join the training logs.
#pragma once

#include <string>

#include "eval/suite_evaluation.h"
#include "train/run_config.h"
#include "trol/model.h"

namespace trol {

class MetricsLog;
class ProcessGroup;
class TensorBoardWriter;

// The evaluator's view of `group` (null: one process).
EvalRanks eval_ranks(ProcessGroup* group);

// eval.every_steps: at `global_step`, every rank generates its share of the suites, built-in
// splits included (written to <output_dir>/eval/step-<N>/); rank 0 logs one metrics.jsonl row
// {"global_step", "eval": {name: metrics}} and TensorBoard scalars eval/<name>/<metric> (the
// rows of eval/results_table.h, spaces as '/'). The model is
// put in eval mode and back in train mode; nothing that shapes training (RNG, data position)
// is touched. Every rank must call it.
void evaluate_during_training(TrolModel& model, const RunConfig& config, ProcessGroup* group, int64_t global_step,
                              MetricsLog* metrics, TensorBoardWriter* tensorboard);

}  // namespace trol
