// One rank of a launched run (torchrun, scripts/launch.sh, srun), as `trol train` and
// `trol eval` join it. Without the launcher's variables the process is the only rank and
// nothing changes.
#pragma once

#include <memory>

#include "train/distributed/launch_env.h"
#include "train/distributed/process_group.h"
#include "train/run_config.h"

namespace trol {

// Reads the launcher environment (a malformed one is a ConfigError). For several ranks: log
// lines carry the rank, ranks above 0 log warnings only (rank 0 tells the story), and
// runtime.device "cuda" becomes this rank's "cuda:LOCAL_RANK".
LaunchEnv read_launched_env(RunConfig& config);

// The process group of `env` (null for one process), with the config's backend and timeout.
// Call after configure_runtime.
std::shared_ptr<ProcessGroup> connect_launched_run(const LaunchEnv& env, const RunConfig& config);

}  // namespace trol
