// trol smoke CONFIG [key=value ...]: overfit one synthetic batch, to check a config end to end.
#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "train/smoke.h"

namespace trol::cli {

void add_smoke_command(CLI::App& app) {
  struct Args {
    std::string config;
    std::vector<std::string> overrides;
    SmokeOptions options;
    std::vector<std::string> freeze;
    std::vector<std::string> train;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("smoke", "Build the model of CONFIG and overfit one synthetic batch (forward/backward/step)");
  cmd->add_option("config", args->config, "YAML run config")->required()->check(CLI::ExistingFile);
  cmd->add_option("overrides", args->overrides, "key.path=value overrides of the config");
  cmd->add_option("--steps", args->options.steps, "optimizer steps")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--batch-size", args->options.batch_size, "samples in the batch")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--seq-len", args->options.seq_len, "tokens per sample (0: images + 32)")->capture_default_str();
  cmd->add_option("--lr", args->options.learning_rate, "AdamW learning rate")->capture_default_str();
  cmd->add_option("--freeze", args->freeze, "parameter groups to freeze (lora, vision, projector, mixer, llm)");
  cmd->add_option("--train", args->train, "parameter groups to train (the vision encoder is built frozen)");
  cmd->callback([args] {
    for (const auto& group : args->freeze) args->options.trainable[group] = false;
    for (const auto& group : args->train) args->options.trainable[group] = true;
    const auto config = load_run_config(args->config, args->overrides);
    configure_runtime(config.runtime);
    const auto report = run_smoke(config, args->options);
    log_smoke_report(report);
  });
}

}  // namespace trol::cli
