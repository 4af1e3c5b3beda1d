// trol: train, fine-tune and evaluate TroL vision-language models.
// Parses the command line and hands over to one subcommand; nothing else happens here.
#include <c10/util/Exception.h>
#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "trol/config_reader.h"

int main(int argc, char** argv) {
  CLI::App app{"trol: train, fine-tune and evaluate TroL (Traversal of Layers) vision-language models"};
  app.require_subcommand(1);
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "Debug logging");
  app.parse_complete_callback([&] { spdlog::set_level(verbose ? spdlog::level::debug : spdlog::level::info); });
  trol::cli::add_smoke_command(app);
  trol::cli::add_inspect_command(app);
  trol::cli::add_data_command(app);
  trol::cli::add_train_command(app);
  trol::cli::add_report_command(app);
  trol::cli::add_bench_command(app);
  trol::cli::add_eval_command(app);
  trol::cli::add_generate_command(app);
  trol::cli::add_plot_command(app);
  trol::cli::add_export_command(app);
  trol::cli::add_import_command(app);
  trol::cli::add_forward_command(app);
  trol::cli::add_score_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const trol::ConfigError& e) {
    spdlog::error("config error: {}", e.what());
    return 2;
  } catch (const c10::Error& e) {
    spdlog::error("{}", e.what_without_backtrace());
    return 1;
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  return 0;
}
