#include "train/periodic_eval.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "eval/results_table.h"
#include "train/distributed/process_group.h"
#include "train/progress.h"
#include "train/tensorboard.h"

namespace trol {

EvalRanks eval_ranks(ProcessGroup* group) {
  EvalRanks ranks;
  if (group == nullptr) return ranks;
  ranks.rank = group->rank();
  ranks.world_size = group->world_size();
  ranks.all_gather = [group](const std::string& text, const std::string& what) { return group->all_gather_text(text, what); };
  return ranks;
}

void evaluate_during_training(TrolModel& model, const RunConfig& config, ProcessGroup* group, int64_t global_step,
                              MetricsLog* metrics, TensorBoardWriter* tensorboard) {
  model->eval();
  const auto out = config.train.output_dir + "/eval/step-" + std::to_string(global_step);
  const auto ranks = eval_ranks(group);
  const auto suites = evaluate_suites(model, config.data, config.eval, ranks, out);
  model->train();
  if (ranks.rank != 0) return;
  nlohmann::json row{{"global_step", global_step}, {"eval", nlohmann::json::object()}};
  for (const auto& suite : suites) {
    row["eval"][suite.name] = suite.metrics["metrics"];
    if (!tensorboard) continue;
    for (const auto& r : result_rows(suite.name, suite.benchmark, suite.metrics["metrics"])) {
      auto tag = "eval/" + suite.name + "/" + r.metric;
      std::replace(tag.begin(), tag.end(), ' ', '/');
      tensorboard->add_scalar(tag, r.value, global_step);
    }
  }
  if (metrics) metrics->record(row);
  if (tensorboard) tensorboard->flush();
  spdlog::info("step {}: evaluated {} benchmark(s)", global_step, suites.size());
}

}  // namespace trol
