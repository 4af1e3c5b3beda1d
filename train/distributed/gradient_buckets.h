// Gradient synchronisation for data parallelism, overlapped with backward (what PyTorch
// DDP's Reducer does, written for trol): the trainable parameters are grouped into buckets
// of at most `cap_bytes`, in reverse registration order (roughly the order backward produces
// their gradients). A hook on each parameter's gradient accumulator copies the finished
// gradient into its bucket; the moment a bucket is full it is all-reduced asynchronously
// while backward goes on with the layers before it. Buckets launch strictly in index order
// (a full bucket waits for the ones before it), so every rank issues the same collectives
// in the same order whatever its data.
//
// The gradients are SUMMED over the ranks: the trainer divides the loss by the global count
// of supervised tokens, so the sum is the gradient of the global batch's mean loss.
//
//   buckets.prepare(/*sync=*/false)  before each non-final micro-batch's backward: nothing
//                                    is communicated, gradients accumulate locally
//   buckets.prepare(/*sync=*/true)   before the final micro-batch's backward
//   buckets.finish()                 after it: launches the buckets whose parameters got no
//                                    gradient in that backward (their slots hold what
//                                    earlier micro-batches left, or zeros), waits for every
//                                    bucket, and writes the sums back into the gradients.
// A parameter that got no gradient on any rank keeps an undefined gradient, as it would in
// a single process (an all-reduced map of which parameters were used decides).
#pragma once

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace trol {

class ProcessGroup;

// Parameter indices per bucket: reverse order, a new bucket whenever the next parameter
// would take the bucket past cap_bytes or has another dtype/device (a parameter larger
// than the cap gets a bucket of its own).
std::vector<std::vector<size_t>> plan_buckets(const std::vector<torch::Tensor>& parameters, int64_t cap_bytes);

class GradientBuckets {
 public:
  GradientBuckets(std::vector<torch::Tensor> parameters, int64_t cap_bytes, std::shared_ptr<ProcessGroup> group);
  ~GradientBuckets();
  GradientBuckets(const GradientBuckets&) = delete;
  GradientBuckets& operator=(const GradientBuckets&) = delete;

  void prepare(bool sync);
  void finish();

  size_t bucket_count() const;
  std::vector<int64_t> bucket_bytes() const;
  int64_t bytes_per_sync() const;  // gradient bytes all-reduced per optimizer step (all buckets)

  // Called with "launch <bucket>" from the autograd hooks (or finish()) when a bucket's
  // all-reduce starts, for tests and tracing. Runs on the autograd thread.
  void on_event(std::function<void(const std::string&)> listener);

 private:
  struct State;
  std::shared_ptr<State> state_;  // shared with the hooks, which outlive nothing but check it
};

}  // namespace trol
