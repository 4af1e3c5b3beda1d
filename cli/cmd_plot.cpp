// trol plot RUN_DIR [--out DIR]: the training curves of a run from its metrics.jsonl
// (eval/training_curves.h, write_training_figures): loss.png, lr.png and gates.png.
#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "eval/training_curves.h"

namespace trol::cli {

void add_plot_command(CLI::App& app) {
  struct Args {
    std::string run, out;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("plot", "Plot a run's loss and learning-rate curves and its per-layer mixing ratios");
  cmd->add_option("run", args->run, "the run folder (train.output_dir)")->required();
  cmd->add_option("--out", args->out, "folder for the PNGs (default: RUN/plots)");
  cmd->callback([args] {
    const auto written = write_training_figures(args->run, args->out.empty() ? args->run + "/plots" : args->out);
    if (written.size() < 3) spdlog::info("no mixing ratios in {}/metrics.jsonl (traversal off): no gates.png", args->run);
    for (const auto& file : written) spdlog::info("wrote {}", file);
  });
}

}  // namespace trol::cli
