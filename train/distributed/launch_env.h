// Where this process sits in a multi-process run, read from the launcher's environment:
//   torchrun / scripts/launch.sh:  RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT
//   Slurm (srun):                  SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, and the first
//                                  host of SLURM_NODELIST as the master (MASTER_ADDR/PORT win
//                                  when set)
// torchrun's variables win over Slurm's (torchrun inside an srun allocation). Without either,
// the process is the only rank: world size 1, no process group, nothing changes.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace trol {

struct LaunchEnv {
  int64_t rank = 0;
  int64_t world_size = 1;
  int64_t local_rank = 0;               // the rank on this node: picks the GPU (cuda:LOCAL_RANK)
  std::string master_addr = "127.0.0.1";  // the host of rank 0, which serves the rendezvous store
  int64_t master_port = 29500;
  std::string launcher = "none";        // "torchrun" (the RANK variables), "slurm" or "none"

  bool distributed() const { return world_size > 1; }
};

// Reads the variables through `lookup` (the process environment by default). Throws
// std::invalid_argument naming the variable when a value is malformed or inconsistent.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
LaunchEnv read_launch_env(const EnvLookup& lookup = {});

// The first host name of a Slurm node list: "gpu[03-05,09],cpu1" -> "gpu03".
std::string first_slurm_host(const std::string& nodelist);

}  // namespace trol
