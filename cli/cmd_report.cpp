// trol report RUN_DIR... [--out DIR]: the results of several runs (each with results.json
// from `trol train` or `trol eval`) side by side: a table on stdout (eval/results_table.h),
// results.json (one object per run) and a loss-curve PNG with every run.
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/commands.h"
#include "eval/results_table.h"
#include "eval/training_curves.h"

namespace trol::cli {

void add_report_command(CLI::App& app) {
  struct Args {
    std::vector<std::string> runs;
    std::string out;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("report", "Compare the evaluation results of training runs side by side");
  cmd->add_option("runs", args->runs, "run folders (train.output_dir of each run)")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--out", args->out, "folder for the combined results.json and loss_curve.png");
  cmd->callback([args] {
    std::vector<nlohmann::ordered_json> results;
    for (const auto& run : args->runs) results.push_back(read_run_results(run));
    std::cout << results_table(results);
    if (args->out.empty()) return;

    std::filesystem::create_directories(args->out);
    std::ofstream(args->out + "/results.json") << combined_results(results, args->runs).dump(2) << "\n";
    std::vector<LossCurve> curves;
    for (size_t i = 0; i < results.size(); ++i) curves.push_back(run_loss_curve(args->runs[i], results[i]));
    write_loss_figure(args->out + "/loss_curve.png", "training loss, all stages", curves);
    for (const auto& run : args->runs) {
      if (std::filesystem::exists(run + "/mixing_ratios.png")) {
        std::filesystem::copy_file(run + "/mixing_ratios.png", args->out + "/mixing_ratios.png",
                                   std::filesystem::copy_options::overwrite_existing);
        break;
      }
    }
    spdlog::info("wrote {0}/results.json, {0}/loss_curve.png, {0}/mixing_ratios.png", args->out);
  });
}

}  // namespace trol::cli
