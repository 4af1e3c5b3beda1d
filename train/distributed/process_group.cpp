#include "train/distributed/process_group.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include "trol/compat.h"

namespace trol {
namespace {

using Clock = std::chrono::steady_clock;

std::string key_failed(int64_t rank) { return "trol/failed/" + std::to_string(rank); }
std::string key_diagnosed(int64_t rank) { return "trol/diagnosed/" + std::to_string(rank); }
std::string key_joined(int64_t rank) { return "trol/joined/" + std::to_string(rank); }

std::vector<uint8_t> bytes_of(const std::string& text) { return {text.begin(), text.end()}; }

std::string message_of(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const c10::Error& e) {
    return e.what_without_backtrace();
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown error";
  }
}

// The first line of an error (c10d's messages append C++ stack traces).
std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

std::string rank_list(const std::vector<int64_t>& ranks) {
  std::string out;
  for (size_t i = 0; i < ranks.size(); ++i) out += (i == 0 ? "" : ", ") + std::to_string(ranks[i]);
  return (ranks.size() == 1 ? "rank " : "ranks ") + out;
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

}  // namespace

struct ProcessGroup::Impl {
  LaunchEnv env;
  ProcessGroupOptions options;
  std::string backend_name;
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<compat::C10dBackend> backend;
  std::atomic<int64_t> bytes_all_reduced{0};
  bool broken = false;  // a collective failed: the backend's queued work would only time out

  // How long a failing rank waits for the others' reports: the others notice the same
  // failure within moments when a rank died (its sockets closed), later when it hangs.
  std::chrono::milliseconds grace() const {
    return std::min<std::chrono::milliseconds>(options.timeout / 4, std::chrono::seconds(10));
  }

  // Reports this rank's failure in `what` to the store, finds which ranks did not report the
  // same within the grace period, and throws a DistributedError saying so.
  [[noreturn]] void fail(const std::string& what, const std::string& error) {
    broken = true;
    const auto headline = fmt::format("rank {}: collective '{}' failed: {}", env.rank, what, first_line(error));
    std::string diagnosis;
    try {
      store->set(key_failed(env.rank), bytes_of(what));
      const auto deadline = Clock::now() + grace();
      std::vector<int64_t> silent;
      while (true) {
        silent.clear();
        for (int64_t r = 0; r < env.world_size; ++r) {
          if (r != env.rank && !store->check({key_failed(r)})) silent.push_back(r);
        }
        if (silent.empty() || Clock::now() >= deadline) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      store->set(key_diagnosed(env.rank), bytes_of("1"));
      diagnosis = silent.empty()
                      ? "every rank reported a failure"
                      : fmt::format("{} did not report within {} s: dead or hung (see its log)", rank_list(silent),
                                    grace().count() / 1000.0);
      if (env.rank == 0) {
        // Rank 0 serves the store: it stays until the others that reported have read it.
        const auto until = Clock::now() + grace();
        for (int64_t r = 1; r < env.world_size && Clock::now() < until; ++r) {
          while (store->check({key_failed(r)}) && !store->check({key_diagnosed(r)}) && Clock::now() < until) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
          }
        }
      }
    } catch (const std::exception& e) {
      diagnosis = fmt::format("the rendezvous store on rank 0 ({}:{}) is unreachable too: rank 0 has probably exited",
                              env.master_addr, env.master_port);
    }
    throw DistributedError(headline + "; " + diagnosis);
  }

  void wait(const c10::intrusive_ptr<c10d::Work>& work, const std::string& what) {
    try {
      work->wait();
    } catch (...) {
      fail(what, message_of(std::current_exception()));
    }
  }
};

struct CollectiveWork::Impl {
  ProcessGroup::Impl* group = nullptr;
  c10::intrusive_ptr<c10d::Work> work;
  std::vector<at::Tensor> tensors;  // kept alive until the work is done
  std::string what;
};

CollectiveWork::CollectiveWork() = default;
CollectiveWork::~CollectiveWork() = default;
CollectiveWork::CollectiveWork(CollectiveWork&&) noexcept = default;
CollectiveWork& CollectiveWork::operator=(CollectiveWork&&) noexcept = default;

bool CollectiveWork::pending() const { return impl_ && impl_->work; }

void CollectiveWork::wait() {
  if (!pending()) return;
  auto work = std::move(impl_->work);
  impl_->work.reset();
  impl_->group->wait(work, impl_->what);
}

ProcessGroup::ProcessGroup(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ProcessGroup::~ProcessGroup() {
  // After a failure, destroying the backend would wait for its queued collectives, each of
  // which waits out the timeout against the dead rank: the process is about to exit with the
  // error, so the backend is left to it.
  if (impl_ && impl_->broken) (void)impl_->backend.release();
}

std::shared_ptr<ProcessGroup> ProcessGroup::connect(const LaunchEnv& env, const ProcessGroupOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->env = env;
  impl->options = options;
  std::string backend = options.backend;
  if (backend == "auto") backend = options.device.is_cuda() ? "nccl" : "gloo";
  impl->backend_name = backend;
  const auto where = fmt::format("{}:{}", env.master_addr, env.master_port);
  const double seconds = options.timeout.count() / 1000.0;

  c10d::TCPStoreOptions store_options;
  store_options.port = static_cast<uint16_t>(env.master_port);
  store_options.isServer = env.rank == 0;
  store_options.numWorkers = static_cast<size_t>(env.world_size);
  store_options.waitWorkers = false;  // the backend's rendezvous below waits, and names who is missing
  store_options.timeout = options.timeout;
  try {
    // LibTorch >= 2.4 serves the store through libuv by default (as torchrun does), and one
    // built without libuv refuses that: such a build serves it with c10d's own loop instead.
    compat::serve_tcp_store_with_libuv(store_options, true);
    try {
      impl->store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, store_options);
    } catch (const c10::Error& error) {
      if (!compat::is_missing_libuv(error.what())) throw;
      compat::serve_tcp_store_with_libuv(store_options, false);
      impl->store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, store_options);
    }
  } catch (...) {
    const auto error = first_line(message_of(std::current_exception()));
    throw DistributedError(
        env.rank == 0
            ? fmt::format("rank 0: cannot serve the rendezvous store on {}: {} (is MASTER_PORT in use?)", where, error)
            : fmt::format("rank {}: cannot reach the rendezvous store of rank 0 at {} within {} s: {} (is rank 0 "
                          "running, and MASTER_ADDR/MASTER_PORT right?)",
                          env.rank, where, seconds, error));
  }
  impl->store->set(key_joined(env.rank), bytes_of(std::to_string(::getpid())));

  const auto rank = static_cast<int>(env.rank), size = static_cast<int>(env.world_size);
  try {
    if (backend == "gloo") {
#ifdef USE_C10D_GLOO
      auto gloo = c10d::ProcessGroupGloo::Options::create(options.timeout);
      if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME")) {
        gloo->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
      } else if (is_loopback(env.master_addr)) {
        gloo->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      } else {
        gloo->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      }
      gloo->threads = 2;
      impl->backend = c10::make_intrusive<c10d::ProcessGroupGloo>(impl->store, rank, size, gloo);
#else
      throw DistributedError("distributed.backend: this trol was built without Gloo (libgloo-dev headers)");
#endif
    } else if (backend == "nccl") {
#ifdef USE_C10D_NCCL
      auto nccl = c10d::ProcessGroupNCCL::Options::create();
      nccl->timeout = options.timeout;
      impl->backend = c10::make_intrusive<c10d::ProcessGroupNCCL>(impl->store, rank, size, nccl);
#else
      throw DistributedError("distributed.backend: nccl needs a build against a CUDA LibTorch with NCCL");
#endif
    } else {
      throw DistributedError("distributed.backend: unknown backend '" + backend + "'");
    }
  } catch (const DistributedError&) {
    throw;
  } catch (...) {
    const auto error = first_line(message_of(std::current_exception()));
    std::vector<int64_t> missing;
    try {
      for (int64_t r = 0; r < env.world_size; ++r) {
        if (!impl->store->check({key_joined(r)})) missing.push_back(r);
      }
    } catch (...) {
    }
    throw DistributedError(fmt::format("rank {}: {} rendezvous at {} failed: {}{}", env.rank, backend, where, error,
                                       missing.empty() ? std::string()
                                                       : "; " + rank_list(missing) + " never arrived within " +
                                                             fmt::format("{}", seconds) + " s"));
  }
  return std::shared_ptr<ProcessGroup>(new ProcessGroup(std::move(impl)));
}

int64_t ProcessGroup::rank() const { return impl_->env.rank; }
int64_t ProcessGroup::world_size() const { return impl_->env.world_size; }
torch::Device ProcessGroup::device() const { return impl_->options.device; }
std::string ProcessGroup::backend_name() const { return impl_->backend_name; }
int64_t ProcessGroup::bytes_all_reduced() const { return impl_->bytes_all_reduced.load(); }

CollectiveWork ProcessGroup::all_reduce_sum(torch::Tensor tensor, const std::string& what) {
  CollectiveWork handle;
  handle.impl_ = std::make_unique<CollectiveWork::Impl>();
  handle.impl_->group = impl_.get();
  handle.impl_->what = what;
  handle.impl_->tensors = {tensor};
  impl_->bytes_all_reduced += tensor.numel() * static_cast<int64_t>(tensor.element_size());
  try {
    handle.impl_->work = impl_->backend->allreduce(handle.impl_->tensors, c10d::AllreduceOptions{});
  } catch (...) {
    impl_->fail(what, message_of(std::current_exception()));
  }
  return handle;
}

std::vector<double> ProcessGroup::sum(const std::vector<double>& values, const std::string& what) {
  auto tensor = torch::tensor(values, torch::kFloat64).to(impl_->options.device);
  std::vector<at::Tensor> tensors{tensor};
  c10::intrusive_ptr<c10d::Work> work;
  try {
    work = impl_->backend->allreduce(tensors, c10d::AllreduceOptions{});
  } catch (...) {
    impl_->fail(what, message_of(std::current_exception()));
  }
  impl_->wait(work, what);
  const auto result = tensors[0].cpu();
  return {result.data_ptr<double>(), result.data_ptr<double>() + result.numel()};
}

bool ProcessGroup::any(bool flag, const std::string& what) { return sum({flag ? 1.0 : 0.0}, what)[0] > 0; }

void ProcessGroup::barrier(const std::string& what) { sum({1.0}, what); }

void ProcessGroup::broadcast(const std::vector<torch::Tensor>& tensors, int64_t root, const std::string& what) {
  torch::NoGradGuard no_grad;
  // As bytes, in chunks: any dtype (quantized weights, integer buffers), few collectives.
  constexpr int64_t kChunk = 64 << 20;
  std::vector<torch::Tensor> pending;
  int64_t pending_bytes = 0;
  const auto flush = [&] {
    if (pending.empty()) return;
    std::vector<torch::Tensor> bytes;
    for (const auto& t : pending) {
      bytes.push_back(t.detach().to(impl_->options.device).contiguous().reshape({-1}).view(torch::kUInt8));
    }
    std::vector<at::Tensor> buffer{torch::cat(bytes)};
    c10d::BroadcastOptions options;
    options.rootRank = root;
    c10::intrusive_ptr<c10d::Work> work;
    try {
      work = impl_->backend->broadcast(buffer, options);
    } catch (...) {
      impl_->fail(what, message_of(std::current_exception()));
    }
    impl_->wait(work, what);
    int64_t offset = 0;
    for (auto& t : pending) {
      const int64_t n = t.numel() * static_cast<int64_t>(t.element_size());
      // (cloned: a view as a wider dtype needs an aligned start)
      t.copy_(buffer[0].narrow(0, offset, n).clone().view(t.scalar_type()).view(t.sizes()));
      offset += n;
    }
    pending.clear();
    pending_bytes = 0;
  };
  for (const auto& t : tensors) {
    if (!t.defined() || t.numel() == 0) continue;
    pending.push_back(t);
    pending_bytes += t.numel() * static_cast<int64_t>(t.element_size());
    if (pending_bytes >= kChunk) flush();
  }
  flush();
}

std::vector<torch::Tensor> ProcessGroup::all_gather(const torch::Tensor& tensor, const std::string& what) {
  std::vector<at::Tensor> input{tensor.to(impl_->options.device).contiguous()};
  std::vector<std::vector<at::Tensor>> output(1);
  for (int64_t r = 0; r < world_size(); ++r) output[0].push_back(torch::empty_like(input[0]));
  c10::intrusive_ptr<c10d::Work> work;
  try {
    work = impl_->backend->allgather(output, input, c10d::AllgatherOptions{});
  } catch (...) {
    impl_->fail(what, message_of(std::current_exception()));
  }
  impl_->wait(work, what);
  std::vector<torch::Tensor> result;
  for (auto& t : output[0]) result.push_back(t.to(tensor.device()));
  return result;
}

std::vector<std::string> ProcessGroup::all_gather_text(const std::string& text, const std::string& what) {
  const auto lengths = all_gather(torch::tensor({static_cast<int64_t>(text.size())}, torch::kLong), what + " (lengths)");
  int64_t longest = 0;
  for (const auto& l : lengths) longest = std::max(longest, l.item<int64_t>());
  auto bytes = torch::zeros({std::max<int64_t>(longest, 1)}, torch::kUInt8);
  std::copy(text.begin(), text.end(), bytes.data_ptr<uint8_t>());
  const auto gathered = all_gather(bytes, what);
  std::vector<std::string> texts;
  for (size_t r = 0; r < gathered.size(); ++r) {
    const auto* data = gathered[r].data_ptr<uint8_t>();
    texts.emplace_back(data, data + lengths[r].item<int64_t>());
  }
  return texts;
}

}  // namespace trol
