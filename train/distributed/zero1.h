// ZeRO stage 1 (Rajbhandari et al., 2020): the AdamW state is sharded across the ranks. Each
// trainable parameter has one owner rank (a size-balanced partition); gradients are still
// summed everywhere (train/distributed/gradient_buckets.h), but only the owner keeps AdamW's
// moments for a parameter and updates it, then sends the updated values to the other ranks.
// The optimizer state per rank shrinks to about 1/W; the step costs one broadcast of the
// trainable weights. Checkpoints hold the whole state (gathered on rank 0), so a run resumes on
// any number of ranks, with or without ZeRO.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <vector>

namespace trol {

class ProcessGroup;

// Owner rank of each parameter of `sizes` (numels): the largest first, each to the rank that
// holds the fewest elements so far (ties: the lowest rank). The same on every rank.
std::vector<int64_t> partition_by_size(const std::vector<int64_t>& sizes, int64_t ranks);

class Zero1Shards {
 public:
  // `trainable`: the optimizer's parameters, in the same order on every rank.
  Zero1Shards(std::vector<torch::Tensor> trainable, std::shared_ptr<ProcessGroup> group);

  // Before the update: drops the gradients of other ranks' parameters, so AdamW updates (and
  // keeps state for) this rank's share only. After clipping: the norm saw every gradient.
  void drop_foreign_gradients();
  // After the update: every parameter from its owner, on every rank.
  void share_updated_parameters();

  // For a checkpoint (every rank calls it): each owner's AdamW state of its parameters onto
  // rank 0's optimizer, which then holds the whole state until release_foreign_state().
  void gather_optimizer_state(torch::optim::AdamW& adamw);
  // Keeps only the state of this rank's parameters (after a checkpoint, or a restore that
  // loaded the whole state).
  void release_foreign_state(torch::optim::AdamW& adamw);

  int64_t owned_elements() const;  // of this rank
  int64_t total_elements() const;

 private:
  std::vector<torch::Tensor> trainable_;
  std::vector<int64_t> owner_;
  std::shared_ptr<ProcessGroup> group_;
};

}  // namespace trol
