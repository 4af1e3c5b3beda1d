#include "train/distributed/launch_env.h"

#include <cstdlib>
#include <stdexcept>

namespace trol {
namespace {

int64_t integer(const EnvLookup& lookup, const std::string& name, int64_t fallback) {
  const auto text = lookup(name);
  if (!text || text->empty()) return fallback;
  size_t used = 0;
  int64_t value = 0;
  try {
    value = std::stoll(*text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text->size()) throw std::invalid_argument(name + "='" + *text + "': expected an integer");
  return value;
}

}  // namespace

std::string first_slurm_host(const std::string& nodelist) {
  // The first entry ends at a comma outside brackets; a bracket holds ranges "03-05,09".
  const auto bracket = nodelist.find('[');
  const auto comma = nodelist.find(',');
  if (bracket == std::string::npos || (comma != std::string::npos && comma < bracket)) {
    return nodelist.substr(0, comma);
  }
  const auto prefix = nodelist.substr(0, bracket);
  const auto end = nodelist.find_first_of(",-]", bracket + 1);
  if (end == std::string::npos) throw std::invalid_argument("SLURM_NODELIST='" + nodelist + "': unbalanced '['");
  return prefix + nodelist.substr(bracket + 1, end - bracket - 1);
}

LaunchEnv read_launch_env(const EnvLookup& given) {
  const EnvLookup lookup = given ? given : [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
  LaunchEnv env;
  if (lookup("RANK") || lookup("WORLD_SIZE")) {
    env.launcher = "torchrun";
    env.rank = integer(lookup, "RANK", 0);
    env.world_size = integer(lookup, "WORLD_SIZE", 1);
    env.local_rank = integer(lookup, "LOCAL_RANK", env.rank);
  } else if (lookup("SLURM_PROCID") && lookup("SLURM_NTASKS")) {
    env.launcher = "slurm";
    env.rank = integer(lookup, "SLURM_PROCID", 0);
    env.world_size = integer(lookup, "SLURM_NTASKS", 1);
    env.local_rank = integer(lookup, "SLURM_LOCALID", 0);
    if (const auto nodes = lookup("SLURM_NODELIST"); nodes && !nodes->empty()) env.master_addr = first_slurm_host(*nodes);
    // Jobs sharing a node must not share a port: one derived from the job id, as many
    // Slurm recipes do, unless MASTER_PORT says otherwise.
    if (const auto job = integer(lookup, "SLURM_JOB_ID", -1); job >= 0) env.master_port = 20000 + job % 20000;
  }
  if (const auto addr = lookup("MASTER_ADDR"); addr && !addr->empty()) env.master_addr = *addr;
  env.master_port = integer(lookup, "MASTER_PORT", env.master_port);
  const std::string source = env.launcher == "slurm" ? "SLURM_NTASKS" : "WORLD_SIZE";
  if (env.world_size < 1) throw std::invalid_argument(source + " must be at least 1");
  if (env.rank < 0 || env.rank >= env.world_size) {
    throw std::invalid_argument("rank " + std::to_string(env.rank) + " is outside [0, " + std::to_string(env.world_size) +
                                ") (" + source + "=" + std::to_string(env.world_size) + ")");
  }
  if (env.local_rank < 0) throw std::invalid_argument("LOCAL_RANK must not be negative");
  if (env.master_port < 1 || env.master_port > 65535) throw std::invalid_argument("MASTER_PORT must be within [1, 65535]");
  return env;
}

}  // namespace trol
