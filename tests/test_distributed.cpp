// Data parallelism: the launcher's environment, the distributed sampler, and real c10d Gloo
// process groups of 2-3 ranks on loopback, one thread per rank (gradient buckets: counts,
// sizes, sums, overlap with backward; broadcast; failure reports). Multi-process training
// runs are in tests/distributed_train.sh.
#include <unistd.h>

#include "tests/catch.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "data/batch_loader.h"
#include "data/distributed_sampler.h"
#include "train/distributed/gradient_buckets.h"
#include "train/distributed/launch_env.h"
#include "train/distributed/process_group.h"
#include "train/distributed/zero1.h"
#include "train/fused_adamw.h"
#include "test_helpers.h"
#include "trol/compat.h"
#include "train/run_config.h"
#include "train/runtime.h"
#include "trol/config_reader.h"

namespace test_distributed {

using namespace trol;

namespace {

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    const auto found = vars.find(name);
    if (found == vars.end()) return std::nullopt;
    return found->second;
  };
}

// Runs body(rank, group) on `world` threads joined in one Gloo process group; rethrows the
// first rank's exception.
void run_ranks(int64_t world, const std::function<void(int64_t, ProcessGroup&)>& body, double timeout_seconds = 20) {
  const int port = test::free_port();
  std::vector<std::thread> threads;
  std::vector<std::exception_ptr> errors(static_cast<size_t>(world));
  for (int64_t rank = 0; rank < world; ++rank) {
    threads.emplace_back([&, rank] {
      try {
        LaunchEnv env;
        env.rank = rank;
        env.world_size = world;
        env.master_port = port;
        ProcessGroupOptions options;
        options.backend = "gloo";
        options.timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_seconds * 1000));
        auto group = ProcessGroup::connect(env, options);
        body(rank, *group);
      } catch (...) {
        errors[static_cast<size_t>(rank)] = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

// A stack of linear layers: parameters in registration order, backward produces their
// gradients last layer first.
struct Stack : torch::nn::Module {
  std::vector<torch::nn::Linear> layers;
  explicit Stack(int64_t depth, int64_t width) {
    for (int64_t i = 0; i < depth; ++i) {
      layers.push_back(register_module("layer" + std::to_string(i), torch::nn::Linear(width, width)));
    }
  }
  torch::Tensor forward(torch::Tensor x) {
    for (auto& layer : layers) x = torch::tanh(layer(x));
    return x;
  }
};

}  // namespace

TEST_CASE("the launcher's environment: torchrun, Slurm, none, malformed values named", "[distributed]") {
  const auto none = read_launch_env(env_of({}));
  CHECK(none.world_size == 1);
  CHECK_FALSE(none.distributed());
  CHECK(none.launcher == "none");

  const auto torchrun = read_launch_env(env_of(
      {{"RANK", "5"}, {"WORLD_SIZE", "8"}, {"LOCAL_RANK", "1"}, {"MASTER_ADDR", "node0"}, {"MASTER_PORT", "1234"}}));
  CHECK(torchrun.rank == 5);
  CHECK(torchrun.world_size == 8);
  CHECK(torchrun.local_rank == 1);
  CHECK(torchrun.master_addr == "node0");
  CHECK(torchrun.master_port == 1234);
  CHECK(torchrun.launcher == "torchrun");

  const auto slurm = read_launch_env(env_of({{"SLURM_PROCID", "3"}, {"SLURM_NTASKS", "4"}, {"SLURM_LOCALID", "1"},
                                             {"SLURM_NODELIST", "gpu[07-08,11],login"}, {"SLURM_JOB_ID", "123"}}));
  CHECK(slurm.rank == 3);
  CHECK(slurm.world_size == 4);
  CHECK(slurm.local_rank == 1);
  CHECK(slurm.master_addr == "gpu07");
  CHECK(slurm.master_port == 20123);
  CHECK(slurm.launcher == "slurm");
  // torchrun inside a Slurm allocation: torchrun's variables win.
  CHECK(read_launch_env(env_of({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "2"}, {"RANK", "1"}, {"WORLD_SIZE", "4"}})).rank == 1);

  CHECK(first_slurm_host("node1") == "node1");
  CHECK(first_slurm_host("node1,node2") == "node1");
  CHECK(first_slurm_host("a[1-3]") == "a1");
  CHECK(first_slurm_host("a[009,011]") == "a009");
  CHECK(first_slurm_host("x1,a[2-3]") == "x1");

  CHECK_THROWS_WITH(read_launch_env(env_of({{"RANK", "two"}, {"WORLD_SIZE", "4"}})),
                    ContainsSubstring("RANK='two'"));
  CHECK_THROWS_WITH(read_launch_env(env_of({{"RANK", "4"}, {"WORLD_SIZE", "4"}})),
                    ContainsSubstring("outside [0, 4)"));
}

TEST_CASE("each rank drives its own GPU, whatever CUDA device the config names", "[distributed][config]") {
  CHECK(rank_device("cuda", 3, 8) == "cuda:3");
  CHECK(rank_device("cuda:0", 3, 8) == "cuda:3");  // a single-process config on 8 ranks
  CHECK(rank_device("cuda:5", 0, 8) == "cuda:0");
  CHECK(rank_device("cuda", 3, 1) == "cuda:0");  // the launcher shows each rank its one GPU
  CHECK(rank_device("cpu", 3, 8) == "cpu");
  CHECK(rank_device("cpu", 3, 0) == "cpu");
  CHECK_THROWS_WITH(rank_device("cuda", 4, 2), ContainsSubstring("local rank 4 needs a GPU of its own, but this node shows 2"));
  CHECK_THROWS_WITH(rank_device("gpu", 0, 2), ContainsSubstring("unknown device 'gpu'"));
}

TEST_CASE("the distributed section is read strictly", "[distributed][config]") {
  YAML::Node node = YAML::Load("{backend: gloo, timeout_seconds: 30, bucket_cap_mb: 1.5}");
  ConfigReader reader(node, "distributed", "test.yaml");
  const auto c = read_distributed_config(reader);
  CHECK(c.backend == "gloo");
  CHECK(c.timeout_seconds == 30);
  CHECK(c.bucket_cap_mb == 1.5);
  YAML::Node typo = YAML::Load("{timeout_second: 30}");
  ConfigReader typo_reader(typo, "distributed", "test.yaml");
  CHECK_THROWS_WITH(read_distributed_config(typo_reader),
                    ContainsSubstring("distributed.timeout_second: unknown key"));
  YAML::Node bad = YAML::Load("{backend: mpi}");
  ConfigReader bad_reader(bad, "distributed", "test.yaml");
  CHECK_THROWS_WITH(read_distributed_config(bad_reader), ContainsSubstring("expected auto, gloo or nccl"));
}

TEST_CASE("buckets: reverse order, at most the cap, one bucket per oversized parameter", "[distributed]") {
  std::vector<torch::Tensor> params;
  for (int64_t n : {10, 20, 30, 100, 5, 5}) params.push_back(torch::zeros({n}));  // float32: 4 bytes each
  const auto plan = plan_buckets(params, 30 * 4);
  // From the last parameter: [5, 4] (10 floats), then 3 (100 > cap: alone), then [2] (30),
  // then [1, 0] (30).
  REQUIRE(plan.size() == 4);
  CHECK(plan[0] == std::vector<size_t>{5, 4});
  CHECK(plan[1] == std::vector<size_t>{3});
  CHECK(plan[2] == std::vector<size_t>{2});
  CHECK(plan[3] == std::vector<size_t>{1, 0});
  // A huge cap: one bucket; a dtype change starts a new one.
  CHECK(plan_buckets(params, 1 << 20).size() == 1);
  params[2] = torch::zeros({30}, torch::kFloat64);
  CHECK(plan_buckets(params, 1 << 20).size() == 3);
}

TEST_CASE("sampler: the ranks' shards are disjoint and cover every global batch", "[distributed][pipeline]") {
  const std::vector<size_t> batch{9, 4, 7, 1, 3};
  std::vector<size_t> all;
  for (int64_t rank = 0; rank < 3; ++rank) {
    const auto shard = shard_of_batch(batch, rank, 3);
    all.insert(all.end(), shard.begin(), shard.end());
  }
  auto sorted_all = all, sorted_batch = batch;
  std::sort(sorted_all.begin(), sorted_all.end());
  std::sort(sorted_batch.begin(), sorted_batch.end());
  CHECK(sorted_all == sorted_batch);
  CHECK(shard_of_batch(batch, 1, 3) == std::vector<size_t>{4, 3});
  CHECK(shard_of_batch({5}, 2, 3).empty());
}

TEST_CASE("sharded loaders: every global batch split over the ranks, resume at another world size",
          "[distributed][pipeline]") {
  std::vector<TrainingSample> samples;
  for (int i = 0; i < 11; ++i) {
    samples.push_back({"s" + std::to_string(i), std::vector<int64_t>(2 + i % 5, 1), std::vector<int64_t>(2 + i % 5, 1), {}});
  }
  BatchLoaderOptions options;
  options.batch_size = 4;
  options.seed = 5;
  options.group_by_length = true;
  // 3 batches per epoch (4, 4, 3 samples); 7 batches cross into the third epoch.
  std::vector<Batch> whole;
  {
    BatchLoader loader(samples, options);
    for (int i = 0; i < 7; ++i) whole.push_back(loader.next());
  }
  const auto check_world = [&](int64_t world, int64_t start) {
    std::vector<std::unique_ptr<BatchLoader>> ranks;
    for (int64_t r = 0; r < world; ++r) {
      auto o = options;
      o.shard_rank = r;
      o.shard_count = world;
      o.start_position = start;
      ranks.push_back(std::make_unique<BatchLoader>(samples, o));
    }
    for (int64_t i = start; i < 7; ++i) {
      std::multiset<std::string> ids;
      int64_t supervised = 0;
      for (auto& loader : ranks) {
        const auto b = loader->next();
        CHECK(b.sampler_position == whole[static_cast<size_t>(i)].sampler_position);
        ids.insert(b.sample_ids.begin(), b.sample_ids.end());
        supervised += b.supervised_tokens;
      }
      const auto& expected = whole[static_cast<size_t>(i)];
      CHECK(ids == std::multiset<std::string>(expected.sample_ids.begin(), expected.sample_ids.end()));
      CHECK(supervised == expected.supervised_tokens);
    }
  };
  check_world(2, 0);
  check_world(3, 0);
  check_world(4, 0);  // the 3-sample batches leave rank 3 an empty share
  // A run checkpointed at global batch 2 (by 2 ranks) resumed by 3 ranks, and the reverse.
  check_world(3, 2);
  check_world(2, 4);
  // An empty share is still a batch (the rank takes part in the step's collectives).
  auto o = options;
  o.shard_rank = 3;
  o.shard_count = 4;
  BatchLoader last(samples, o);
  last.next();
  last.next();
  const auto empty = last.next();
  CHECK(empty.empty());
  CHECK(empty.sampler_position == 3);
  CHECK(empty.supervised_tokens == 0);
}

TEST_CASE("gradient buckets: sums over 3 ranks, launched during backward, in cap-sized buckets", "[distributed]") {
  const int64_t world = 3, width = 16, depth = 6;
  // 6 layers of 16x16 + 16 floats (1088 bytes each); a 2200-byte cap holds two per bucket.
  const int64_t cap = 2200;
  std::vector<std::vector<torch::Tensor>> grads(world);
  std::vector<std::vector<std::string>> events(world);
  std::vector<int64_t> counts(world);
  std::vector<int64_t> payload(world);
  run_ranks(world, [&](int64_t rank, ProcessGroup& group) {
    // The same weights on every rank: the ranks are threads sharing the global generator, so
    // seeding and drawing must not interleave.
    static std::mutex init_mutex;
    std::unique_lock<std::mutex> init_lock(init_mutex);
    torch::manual_seed(1);
    Stack model(depth, width);
    init_lock.unlock();
    std::vector<torch::Tensor> params = model.parameters();
    GradientBuckets buckets(params, cap, std::shared_ptr<ProcessGroup>(&group, [](ProcessGroup*) {}));
    std::mutex mutex;
    auto& log = events[static_cast<size_t>(rank)];
    buckets.on_event([&](const std::string& e) {
      std::lock_guard<std::mutex> lock(mutex);
      log.push_back(e);
    });
    counts[static_cast<size_t>(rank)] = static_cast<int64_t>(buckets.bucket_count());
    for (auto b : buckets.bucket_bytes()) CHECK(b <= cap);
    // Two micro-batches: the first accumulates locally (no collective), the second syncs.
    for (int micro = 0; micro < 2; ++micro) {
      buckets.prepare(/*sync=*/micro == 1);
      const auto x = torch::full({2, width}, 0.1 * (rank + 1) + micro);
      model.forward(x).sum().backward();
      std::lock_guard<std::mutex> lock(mutex);
      log.push_back("backward end " + std::to_string(micro));
    }
    const auto before = group.bytes_all_reduced();
    buckets.finish();
    (void)before;
    payload[static_cast<size_t>(rank)] = group.bytes_all_reduced();
    for (const auto& p : params) grads[static_cast<size_t>(rank)].push_back(p.grad().clone());
  });
  CHECK(counts[0] == 3);
  for (int64_t rank = 0; rank < world; ++rank) {
    const auto& log = events[static_cast<size_t>(rank)];
    INFO("rank " << rank << " events: " << [&] { std::string s; for (auto& e : log) s += e + "; "; return s; }());
    // Nothing launched during the first (non-final) micro-batch.
    REQUIRE(log.front() == "backward end 0");
    // The first bucket (the last layers) went out while backward still ran over the first ones.
    const auto launch0 = std::find(log.begin(), log.end(), "launch 0");
    const auto end = std::find(log.begin(), log.end(), "backward end 1");
    REQUIRE(launch0 != log.end());
    CHECK(launch0 < end);
    CHECK(std::count_if(log.begin(), log.end(), [](const std::string& e) { return e.rfind("launch", 0) == 0; }) == 3);
    // The buckets and the used-parameter map, once.
    CHECK(payload[static_cast<size_t>(rank)] == depth * (width * width + width) * 4 + 2 * depth * 4);
  }
  // Every rank holds the sum of the ranks' gradients (each rank's own computed here again).
  torch::manual_seed(1);
  Stack reference(depth, width);
  for (int64_t rank = 0; rank < world; ++rank) {
    for (int micro = 0; micro < 2; ++micro) reference.forward(torch::full({2, width}, 0.1 * (rank + 1) + micro)).sum().backward();
  }
  const auto expected = reference.parameters();
  for (int64_t rank = 0; rank < world; ++rank) {
    for (size_t i = 0; i < expected.size(); ++i) {
      CHECK(torch::allclose(grads[static_cast<size_t>(rank)][i], expected[i].grad(), 1e-5, 1e-6));
    }
  }
}

TEST_CASE("gradient buckets: a parameter unused on one rank gets the others' sum, unused everywhere stays undefined",
          "[distributed]") {
  std::vector<std::vector<torch::Tensor>> grads(2);
  run_ranks(2, [&](int64_t rank, ProcessGroup& group) {
    auto a = torch::ones({3}, torch::requires_grad());
    auto b = torch::ones({3}, torch::requires_grad());
    auto never = torch::ones({3}, torch::requires_grad());
    GradientBuckets buckets({a, b, never}, 8, std::shared_ptr<ProcessGroup>(&group, [](ProcessGroup*) {}));
    buckets.prepare(true);
    // Rank 0 uses a and b, rank 1 only a: b's bucket waits for finish() on rank 1.
    auto loss = (a * (rank + 1.0)).sum();
    if (rank == 0) loss = loss + (b * 5.0).sum();
    loss.backward();
    buckets.finish();
    grads[static_cast<size_t>(rank)] = {a.grad(), b.grad(), never.grad()};
  });
  for (const auto& g : grads) {
    CHECK(torch::allclose(g[0], torch::full({3}, 3.0)));
    CHECK(torch::allclose(g[1], torch::full({3}, 5.0)));
    CHECK_FALSE(g[2].defined());
  }
}

TEST_CASE("process group: broadcast of any dtype, sums, gather", "[distributed]") {
  run_ranks(2, [&](int64_t rank, ProcessGroup& group) {
    auto f = torch::full({2, 3}, static_cast<double>(rank + 1), torch::kFloat32);
    auto i = torch::full({5}, rank + 7, torch::kInt64);
    auto u = torch::full({3}, rank + 1, torch::kUInt8);
    auto h = torch::full({4}, rank + 0.5, torch::kBFloat16);
    group.broadcast_from_rank0({f, i, u, h}, "test broadcast");
    CHECK(torch::equal(f, torch::full({2, 3}, 1.0, torch::kFloat32)));
    CHECK(torch::equal(i, torch::full({5}, 7, torch::kInt64)));
    CHECK(torch::equal(u, torch::full({3}, 1, torch::kUInt8)));
    CHECK(torch::equal(h, torch::full({4}, 0.5, torch::kBFloat16)));
    CHECK(group.sum({1.0, static_cast<double>(rank)}, "test sum") == std::vector<double>{2.0, 1.0});
    CHECK(group.any(rank == 1, "test any"));
    CHECK_FALSE(group.any(false, "test any"));
    const auto gathered = group.all_gather(torch::tensor({static_cast<double>(rank * 10)}), "test gather");
    REQUIRE(gathered.size() == 2);
    CHECK(gathered[1].item<double>() == 10.0);
  });
}

TEST_CASE("a rank that leaves: the other fails within the timeout, naming the collective and the rank",
          "[distributed][failure]") {
  std::string message;
  const auto start = std::chrono::steady_clock::now();
  run_ranks(
      2,
      [&](int64_t rank, ProcessGroup& group) {
        group.barrier("warm-up");
        if (rank == 1) return;  // rank 1 is gone (its sockets close with the group)
        try {
          group.sum({1.0}, "token count");
        } catch (const DistributedError& e) {
          message = e.what();
        }
      },
      /*timeout_seconds=*/4);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK_THAT(message, ContainsSubstring("rank 0: collective 'token count' failed"));
  CHECK_THAT(message, ContainsSubstring("rank 1 did not report"));
  CHECK(seconds < 4 + 2);
}

TEST_CASE("ZeRO-1: the partition balances sizes, the same on every rank", "[distributed]") {
  CHECK(partition_by_size({10, 7, 5, 3, 2, 1}, 3) == std::vector<int64_t>{0, 1, 2, 2, 1, 2});
  CHECK(partition_by_size({4, 4, 4, 4}, 2) == std::vector<int64_t>{0, 1, 0, 1});
  CHECK(partition_by_size({5}, 3) == std::vector<int64_t>{0});
}

TEST_CASE("ZeRO-1: sharded AdamW steps give one AdamW's weights, the gathered state is its state", "[distributed]") {
  // The reference: one AdamW over every parameter, the same gradients.
  torch::manual_seed(41);
  Stack model(4, 6);
  std::vector<torch::Tensor> initial, grads;
  for (const auto& p : model.parameters()) {
    initial.push_back(p.detach().clone());
    grads.push_back(torch::randn_like(p));
  }
  auto make = [&](std::vector<torch::Tensor>& params) {
    for (const auto& t : initial) params.push_back(t.clone().requires_grad_(true));
    return std::make_unique<torch::optim::AdamW>(params, torch::optim::AdamWOptions(0.1).weight_decay(0.01));
  };
  std::vector<torch::Tensor> reference;
  auto reference_adamw = make(reference);
  constexpr int kSteps = 3;
  for (int step = 0; step < kSteps; ++step) {
    for (size_t i = 0; i < reference.size(); ++i) reference[i].mutable_grad() = grads[i] * (step + 1);
    adamw_step(*reference_adamw);
  }
  run_ranks(3, [&](int64_t rank, ProcessGroup& group) {
    std::vector<torch::Tensor> params;
    auto adamw = make(params);
    Zero1Shards shards(params, std::shared_ptr<ProcessGroup>(&group, [](ProcessGroup*) {}));
    for (int step = 0; step < kSteps; ++step) {
      for (size_t i = 0; i < params.size(); ++i) params[i].mutable_grad() = grads[i] * (step + 1);
      shards.drop_foreign_gradients();
      adamw_step(*adamw);
      shards.share_updated_parameters();
    }
    for (size_t i = 0; i < params.size(); ++i) CHECK(torch::equal(params[i], reference[i]));
    CHECK(adamw->state().size() < params.size());  // this rank's share only
    shards.gather_optimizer_state(*adamw);
    if (rank == 0) {
      REQUIRE(adamw->state().size() == params.size());
      for (size_t i = 0; i < params.size(); ++i) {
        const auto& got = static_cast<torch::optim::AdamWParamState&>(*adamw->state().at(compat::optimizer_state_key(params[i])));
        const auto& want = static_cast<torch::optim::AdamWParamState&>(
            *reference_adamw->state().at(compat::optimizer_state_key(reference[i])));
        CHECK(got.step() == want.step());
        CHECK(torch::equal(got.exp_avg(), want.exp_avg()));
        CHECK(torch::equal(got.exp_avg_sq(), want.exp_avg_sq()));
      }
    }
    shards.release_foreign_state(*adamw);
    int64_t owned = 0;
    for (const auto& p : params) owned += adamw->state().count(compat::optimizer_state_key(p)) != 0 ? p.numel() : 0;
    CHECK(owned == shards.owned_elements());
  });
}

}  // namespace test_distributed
