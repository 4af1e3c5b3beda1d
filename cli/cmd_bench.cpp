// trol bench CONFIG --what train|prefill|decode|data [key.path=value ...]: time a training
// step, a forward pass, cached decoding or the data pipeline, and report it against the
// machine's measured peak (decoding: against recomputing the whole sequence).
#include <spdlog/spdlog.h>

#include <fstream>

#include "cli/commands.h"
#include "train/bench.h"
#include "train/runtime.h"

namespace trol::cli {

namespace {

std::string gflops(const nlohmann::ordered_json& value) { return fmt::format("{:.1f} GFLOP/s", value.get<double>() / 1e9); }

void print_summary(const nlohmann::ordered_json& r) {
  const auto what = r["what"].get<std::string>();
  if (what == "data") {
    const auto& s = r["batch_seconds"];
    spdlog::info("bench data: {:.1f} batches/s of {} ({:.0f} tokens/s); batch wait median {:.2f} ms (p10 {:.2f}, p90 {:.2f})",
                 r["batches_per_second"].get<double>(), r["batch_size"].get<int64_t>(), r["tokens_per_second"].get<double>(),
                 1e3 * s["median"].get<double>(), 1e3 * s["p10"].get<double>(), 1e3 * s["p90"].get<double>());
    return;
  }
  if (what == "decode") {
    spdlog::info("bench decode ({}): {} x {} prompt tokens, then {} new tokens: {:.2f} ms per token near token 16, "
                 "{:.2f} ms near token {} ({:.2f}x), {:.0f} tokens/s",
                 r["decode"].get<std::string>(), r["batch_size"].get<int64_t>(), r["prompt_len"].get<int64_t>(),
                 r["new_tokens"].get<int64_t>(), 1e3 * r["token_seconds_early"].get<double>(),
                 1e3 * r["token_seconds_late"].get<double>(), r["new_tokens"].get<int64_t>(),
                 r["late_over_early"].get<double>(), r["tokens_per_second"].get<double>());
    spdlog::info("bench decode: recomputing the whole sequence instead takes {:.2f} ms per token there: the cache is {:.1f}x faster",
                 1e3 * r["recompute_seconds"]["median"].get<double>(), r["speedup_over_recompute"].get<double>());
    return;
  }
  const auto& s = r["step_seconds"];
  spdlog::info("bench {}: {} x {} tokens, step median {:.1f} ms (p10 {:.1f}, p90 {:.1f}), {:.0f} tokens/s", what,
               r["batch_size"].get<int64_t>(), r["seq_len"].get<int64_t>(), 1e3 * s["median"].get<double>(),
               1e3 * s["p10"].get<double>(), 1e3 * s["p90"].get<double>(), r["tokens_per_second"].get<double>());
  std::string line = fmt::format("bench {}: {:.1f} MFLOP/token, achieved {}", what, r["flops_per_token"].get<double>() / 1e6,
                                 gflops(r["achieved_flops"]));
  if (r.contains("mfu")) {
    line += fmt::format(", peak ({} matrix product) {}, MFU {:.3f}", r["peak_dtype"].get<std::string>(),
                        gflops(r["peak_flops"]), r["mfu"].get<double>());
  }
  if (r.contains("peak_rss_bytes")) line += fmt::format(", peak RSS {:.0f} MiB", r["peak_rss_bytes"].get<double>() / (1 << 20));
  spdlog::info("{}", line);
}

}  // namespace

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
    print_summary(result);
    if (!args->json.empty()) {
      std::ofstream out(args->json);
      out << result.dump(2) << "\n";
      if (!out) throw std::runtime_error("bench: cannot write " + args->json);
    }
  });
}

}  // namespace trol::cli
