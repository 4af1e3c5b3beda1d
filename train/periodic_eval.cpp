#include "train/periodic_eval.h"

#include <spdlog/spdlog.h>

#include "eval/paper_comparison.h"
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
  nlohmann::json row{{"global_step", global_step}, {"eval", nlohmann::json::object()}};
  if (ranks.rank == 0 && !config.eval.benchmarks.empty()) {
    const auto builtin = evaluate_builtin(model, config.data, config.eval);
    for (const auto& [name, values] : builtin.metrics.items()) {
      row["eval"][name] = values;
      for (const auto& [metric, value] : values.items()) {
        if (value.is_number_float() && tensorboard) tensorboard->add_scalar("eval/" + name + "/" + metric, value.get<double>(), global_step);
      }
    }
  }
  // Rank 0 ran the built-in benchmarks alone: the others wait for it outside any collective,
  // whose timeout (NCCL's watchdog, Gloo's) would end a long evaluation.
  if (group) group->wait_for_rank0("the built-in evaluation at step " + std::to_string(global_step));
  model->train();
  if (ranks.rank != 0) return;
  for (const auto& suite : suites) {
    row["eval"][suite.name] = suite.metrics["metrics"];
    const auto headline = headline_of(suite.benchmark, suite.metrics);
    if (headline.value && tensorboard) tensorboard->add_scalar("eval/" + suite.name + "/headline", *headline.value, global_step);
  }
  if (metrics) metrics->record(row);
  if (tensorboard) tensorboard->flush();
  spdlog::info("step {}: evaluated {} suite(s){}", global_step, suites.size(),
               config.eval.benchmarks.empty() ? "" : " and the built-in benchmarks");
}

}  // namespace trol
