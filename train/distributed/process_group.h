// A c10d process group (PyTorch's distributed engine) behind a small interface: rendezvous
// through a TCPStore served by rank 0, ProcessGroupNCCL on CUDA (in builds against a CUDA
// LibTorch), ProcessGroupGloo on CPU. The c10d headers stay in process_group.cpp.
//
// Every collective names itself ("gradient bucket 3/7", "token count"). When one fails (a
// rank died: its sockets closed; a rank hangs: the configured timeout ran out), this rank
// reports the failure in the rendezvous store, waits briefly for the other ranks' reports,
// and throws DistributedError naming the collective and the ranks that did not report
// (dead or hung) — instead of hanging forever.
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "train/distributed/launch_env.h"

namespace trol {

class DistributedError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ProcessGroup;

// An asynchronous collective in flight. wait() blocks until it is done (on CUDA: until it is
// ordered on the current stream) and throws DistributedError if it failed.
class CollectiveWork {
 public:
  CollectiveWork();
  ~CollectiveWork();
  CollectiveWork(CollectiveWork&&) noexcept;
  CollectiveWork& operator=(CollectiveWork&&) noexcept;
  void wait();
  bool pending() const;  // launched and not waited for yet

 private:
  friend class ProcessGroup;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct ProcessGroupOptions {
  std::string backend = "auto";  // auto | gloo | nccl (DistributedConfig::backend)
  std::chrono::milliseconds timeout{300000};
  torch::Device device = torch::kCPU;  // where collectives run (NCCL: this rank's GPU)
};

class ProcessGroup {
 public:
  // Joins the run `env` describes (env.world_size > 1): rank 0 serves the rendezvous store at
  // MASTER_ADDR:MASTER_PORT, every rank connects to it, then the backend connects the ranks.
  // Throws DistributedError naming the ranks that did not arrive within the timeout.
  static std::shared_ptr<ProcessGroup> connect(const LaunchEnv& env, const ProcessGroupOptions& options);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int64_t rank() const;
  int64_t world_size() const;
  torch::Device device() const;
  std::string backend_name() const;

  // Sums `tensor` (on device()) over the ranks, in place, asynchronously. Every rank must
  // launch the same collectives in the same order.
  CollectiveWork all_reduce_sum(torch::Tensor tensor, const std::string& what);
  // Blocking sums of a few numbers (token counts, losses, flags) over the ranks, in float64.
  std::vector<double> sum(const std::vector<double>& values, const std::string& what);
  bool any(bool flag, const std::string& what);
  // Rank `root`'s values of `tensors` (any dtype, any device; the same shapes on every rank)
  // on every rank, in place.
  void broadcast(const std::vector<torch::Tensor>& tensors, int64_t root, const std::string& what);
  void broadcast_from_rank0(const std::vector<torch::Tensor>& tensors, const std::string& what) {
    broadcast(tensors, 0, what);
  }
  // Every rank's copy of `tensor` (same shape and dtype on every rank), in rank order.
  std::vector<torch::Tensor> all_gather(const torch::Tensor& tensor, const std::string& what);
  // Every rank's `text` (any length, any bytes), in rank order: lengths first, then the bytes
  // padded to the longest. For results that differ in size per rank (evaluation shards).
  std::vector<std::string> all_gather_text(const std::string& text, const std::string& what);
  // Returns once every rank called it.
  void barrier(const std::string& what);
  int64_t bytes_all_reduced() const;  // by all_reduce_sum so far (this rank's payload)

 private:
  struct Impl;
  explicit ProcessGroup(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  friend class CollectiveWork;
};

}  // namespace trol
