// Evaluating a model on the built-in benchmarks and writing what `trol report` reads:
// <out>/results.json (metrics, per-stage training losses), loss.png and mixing_ratios.png.
// With eval.suites, first the public benchmarks (every rank its share, eval/suite_evaluation.h):
// predictions/<suite>.jsonl, metrics/<suite>.json, report.md beside the paper's numbers, and
// their metrics under "benchmarks" in results.json. Shared by `trol train` (after its stages)
// and `trol eval`. Every rank calls it; ranks above 0 return after the suites. In train/, not
// eval/, because it reads the run config and the stages' losses (eval/ does not depend on train/).
#pragma once

#include <string>
#include <vector>

#include "eval/suite_evaluation.h"
#include "train/run_config.h"
#include "train/trainer.h"
#include "trol/model.h"

namespace trol {

void evaluate_and_report(TrolModel& model, const RunConfig& config, const std::vector<StageResult>& stages,
                         const std::string& out, const EvalRanks& ranks = {});

// `trol eval`: the weights `model_weights` (model.safetensors or its checkpoint folder) built
// with `config`'s model and evaluated as evaluate_and_report does, as one rank of a launched
// run (torchrun, launch.sh, srun: each rank generates its share of eval.suites); results in
// `out_dir`, or train.output_dir when it is empty. Throws naming the path when there are no weights.
void evaluate_checkpoint(RunConfig config, const std::string& model_weights, const std::string& out_dir);

// `trol train`: the stages of `config` in order, as one rank of a launched run (world size 1:
// no process group at all), then, with eval.enabled, evaluate_and_report into train.output_dir.
// A stop signal ends it after the checkpoint is written, without the evaluation. Throws
// ConfigError when train.stages is empty.
void train_and_evaluate(RunConfig config);

}  // namespace trol
