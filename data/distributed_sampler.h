// Sharding the batch loader's order over the ranks of a data-parallel run.
//
// `stage.batch_size` is the GLOBAL micro-batch: every rank walks the same deterministic
// per-epoch order (data/batch_loader.h: epoch_order, seeded by runtime.seed and the stage)
// in the same global batches, and takes its own share of each: rank r of W takes the
// samples at positions r, r+W, r+2W, ... of the global batch (interleaved rather than
// contiguous: with group_by_length a global batch is sorted by length, so every rank gets a
// similar mix of lengths and waits little for the others). The shards of the W ranks are
// disjoint and together are the global batch, so W ranks step through exactly the samples,
// and the same batches, that one process does.
//
// The loader's position (Batch::sampler_position) counts GLOBAL batches and is the same on
// every rank; checkpoints store it. A run resumed with another world size continues at the
// same global batch: the data order, the batch composition and (up to float rounding) the
// trajectory are those of the run before it; only the per-rank share of each batch changes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace trol {

// Rank `rank`'s share of one global batch (indices into the dataset). Empty when the batch
// has fewer samples than ranks (the last batch of an epoch).
std::vector<size_t> shard_of_batch(const std::vector<size_t>& global_batch, int64_t rank, int64_t world_size);

}  // namespace trol
