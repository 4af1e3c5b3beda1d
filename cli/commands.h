// Subcommands of the `trol` executable. Each adds itself to the app and runs when chosen.
#pragma once

#include <CLI/CLI.hpp>

namespace trol::cli {

void add_smoke_command(CLI::App& app);
void add_inspect_command(CLI::App& app);
void add_data_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_report_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_generate_command(CLI::App& app);
void add_plot_command(CLI::App& app);
void add_export_command(CLI::App& app);
void add_import_command(CLI::App& app);
void add_forward_command(CLI::App& app);
void add_score_command(CLI::App& app);

}  // namespace trol::cli
