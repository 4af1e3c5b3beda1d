#include "data/distributed_sampler.h"

#include <stdexcept>

namespace trol {

std::vector<size_t> shard_of_batch(const std::vector<size_t>& global_batch, int64_t rank, int64_t world_size) {
  if (world_size < 1 || rank < 0 || rank >= world_size) throw std::invalid_argument("shard_of_batch: bad rank/world size");
  std::vector<size_t> shard;
  for (size_t i = static_cast<size_t>(rank); i < global_batch.size(); i += static_cast<size_t>(world_size)) {
    shard.push_back(global_batch[i]);
  }
  return shard;
}

}  // namespace trol
