// Evaluating a model on the built-in benchmarks and writing what `trol report` reads:
// <out>/results.json (metrics, per-stage training losses), loss.png and mixing_ratios.png.
// Shared by `trol train` (after its stages) and `trol eval`.
#pragma once

#include <string>
#include <vector>

#include "train/run_config.h"
#include "train/trainer.h"
#include "trol/model.h"

namespace trol::cli {

void evaluate_and_report(TrolModel& model, const RunConfig& config, const std::vector<StageResult>& stages,
                         const std::string& out);

}  // namespace trol::cli
