// trol bench CONFIG --what train|prefill|decode|data [key.path=value ...]: time a training
// step, a forward pass, cached decoding or the data pipeline, and report it against the
// machine's measured peak (decoding: against recomputing the whole sequence).
#include <spdlog/spdlog.h>

#include <fstream>

#include "cli/commands.h"
#include "train/bench.h"
#include "train/runtime.h"

namespace trol::cli {

void add_bench_command(CLI::App& app) {
  struct Args {
    std::string config;
    std::vector<std::string> overrides;
    BenchOptions options;
    std::string json;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("bench", "Time a training step, a forward pass, decoding or the data pipeline of CONFIG; report MFU");
  cmd->add_option("config", args->config, "YAML run config")->required()->check(CLI::ExistingFile);
  cmd->add_option("overrides", args->overrides, "key.path=value overrides of the config");
  cmd->add_option("--what", args->options.what, "train | prefill | decode | data")
      ->capture_default_str()
      ->check(CLI::IsMember({"train", "prefill", "decode", "data"}));
  cmd->add_option("--new-tokens", args->options.new_tokens, "decode: tokens generated per iteration")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--decode", args->options.decode, "decode: exact | released (how a traversed model uses the cache)")
      ->capture_default_str()
      ->check(CLI::IsMember({"exact", "released"}));
  cmd->add_option("--warmup", args->options.warmup, "untimed iterations first")->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--iterations", args->options.iterations, "timed iterations")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--batch-size", args->options.batch_size, "sequences per step")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--seq-len", args->options.seq_len, "positions per sequence (0: data.max_length)")->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--peak-size", args->options.peak_size, "matrix side for the peak FLOP/s measurement (0: skip)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--export", args->options.export_dir,
                  "train: write the first step's weights, batch, loss and gradients to this folder (for the Python reference)");
  cmd->add_option("--profile", args->options.profile_file,
                  "write a Chrome trace (chrome://tracing, Perfetto) of the timed iterations to this file");
  cmd->add_option("--json", args->json, "also write the result as JSON to this file");
  cmd->callback([args] {
    const auto config = load_run_config(args->config, args->overrides);
    configure_runtime(config.runtime);
    const auto result = run_bench(config, args->options);
    log_bench_summary(result);
    if (!args->json.empty()) {
      std::ofstream out(args->json);
      out << result.dump(2) << "\n";
      if (!out) throw std::runtime_error("bench: cannot write " + args->json);
    }
  });
}

}  // namespace trol::cli
