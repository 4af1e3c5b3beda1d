// The `distributed:` section of a run config: how the ranks of a multi-process run talk.
// Which rank a process is and how many there are come from the launcher's environment
// (train/distributed/launch_env.h), not from the config: the same YAML runs on 1 or N ranks.
#pragma once

#include <cstdint>
#include <string>

namespace trol {

class ConfigReader;

struct DistributedConfig {
  std::string backend = "auto";   // auto (NCCL on CUDA, Gloo on CPU) | gloo | nccl
  double timeout_seconds = 300;   // rendezvous and every collective: a dead or hung rank stops
                                  // the others with an error after at most this long
  double bucket_cap_mb = 25;      // gradient all-reduce bucket size (PyTorch DDP's default)
  bool zero1 = false;             // shard the AdamW state across the ranks (train/distributed/zero1.h)
};

DistributedConfig read_distributed_config(ConfigReader& reader);

}  // namespace trol
