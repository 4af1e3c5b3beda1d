#include "train/distributed/launched_run.h"

#include <spdlog/spdlog.h>

#include "train/runtime.h"
#include "trol/config_reader.h"

namespace trol {

LaunchEnv read_launched_env(RunConfig& config) {
  LaunchEnv env;
  try {
    env = read_launch_env();
  } catch (const std::invalid_argument& e) {
    throw ConfigError(std::string("launcher environment: ") + e.what());
  }
  if (env.distributed()) {
    spdlog::set_pattern(fmt::format("[%H:%M:%S.%e] [rank {}] [%^%l%$] %v", env.rank));
    if (env.rank > 0) spdlog::set_level(spdlog::level::warn);  // rank 0 tells the story
    // Each rank drives the GPU of its LOCAL_RANK.
    if (parse_device(config.runtime.device).is_cuda()) {
      const auto requested = config.runtime.device;
      config.runtime.device = rank_device(requested, env.local_rank, static_cast<int64_t>(torch::cuda::device_count()));
      if (requested != "cuda" && requested != config.runtime.device) {
        spdlog::warn("runtime.device: '{}' becomes '{}' on this rank (each rank drives its own GPU)", requested,
                     config.runtime.device);
      }
    }
  }
  return env;
}

std::shared_ptr<ProcessGroup> connect_launched_run(const LaunchEnv& env, const RunConfig& config) {
  if (!env.distributed()) return nullptr;
  ProcessGroupOptions options;
  options.backend = config.distributed.backend;
  options.timeout = std::chrono::milliseconds(static_cast<int64_t>(config.distributed.timeout_seconds * 1000));
  options.device = parse_device(config.runtime.device);
  auto group = ProcessGroup::connect(env, options);
  spdlog::info("rank {} of {} ({}, launched by {}), rendezvous at {}:{}", env.rank, env.world_size, group->backend_name(),
               env.launcher, env.master_addr, env.master_port);
  return group;
}

}  // namespace trol
