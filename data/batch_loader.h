// Turning encoded samples into padded batches, ahead of time, on one background thread.
//
// Order is deterministic in the seed: each epoch is a fresh permutation (optionally grouped
// by length, so batches hold samples of similar length and little padding), and batches
// come out in sampler order whatever the thread timing.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "data/data_config.h"
#include "trol/model.h"

namespace trol {

// One tokenized training sample; images are decoded when its batch is built.
struct TrainingSample {
  std::string id;
  std::vector<int64_t> input_ids;
  std::vector<int64_t> labels;
  std::vector<std::string> image_paths;  // absolute or relative to the working directory
  std::vector<int64_t> image_tiles;      // tiles each image's token run was sized for (dynamic tiling; else empty)
};

struct Batch {
  ModelInputs inputs;             // undefined tensors for an empty shard (sharded loaders only)
  std::vector<std::string> sample_ids;
  int64_t supervised_tokens = 0;  // labels != -100 after the shift, known without touching the tensors
  int64_t tokens = 0;             // real (unpadded) tokens
  int64_t sampler_position = 0;   // sampler batches drawn up to and including this one (all epochs):
                                  // a loader started there continues with the batch after it
  bool empty() const { return !inputs.input_ids.defined(); }  // a rank's share of a batch can be empty
};

struct BatchLoaderOptions {
  int64_t batch_size = 16;
  uint64_t seed = 0;
  bool group_by_length = false;
  int64_t pad_id = 0;
  int64_t prefetch = 4;
  bool skip_bad_images = true;   // false: a bad image is fatal
  int64_t image_size = 0;        // pixels per side the model expects
  std::array<double, 3> mean{0.5, 0.5, 0.5};
  std::array<double, 3> std{0.5, 0.5, 0.5};
  TilingOptions tiling;          // data.min_tiles / max_tiles / tile_thumbnail
  int64_t start_position = 0;    // sampler batches to pass over first (a resumed run's Batch::sampler_position)
  int64_t shard_rank = 0;        // data parallelism: this rank's share of every global batch of
  int64_t shard_count = 1;       // batch_size samples (data/distributed_sampler.h); 1: the whole batch
  bool pin_memory = false;       // batches in page-locked memory, so that their copies to a GPU run
                                 // asynchronously (needs a CUDA build and device)
};

// The order in which an epoch visits samples (exposed for tests).
std::vector<size_t> epoch_order(const std::vector<TrainingSample>& samples, size_t batch_size, uint64_t seed,
                                int64_t epoch, bool group_by_length);

// Collates samples into one right-padded batch; `images` are the samples' image tensors in
// order, each [tiles, 3, size, size], concatenated into the batch's pixel_values.
Batch collate(const std::vector<const TrainingSample*>& samples, const std::vector<torch::Tensor>& images,
              int64_t pad_id);

class BatchLoader {
 public:
  BatchLoader(std::vector<TrainingSample> samples, BatchLoaderOptions options);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  // The next batch; epochs follow one another without end. Rethrows a worker error. A
  // sharded loader returns a batch for every global batch, empty when its share is (so all
  // ranks take the same number of batches); an unsharded one passes over empty batches.
  Batch next();

  int64_t skipped_images() const;
  double seconds_waited() const { return seconds_waited_; }  // time next() blocked on the worker

 private:
  void work();
  std::optional<Batch> build(const std::vector<size_t>& indices);

  std::vector<TrainingSample> samples_;
  BatchLoaderOptions options_;
  std::thread worker_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Batch> ready_;
  std::exception_ptr error_;
  bool stopping_ = false;
  int64_t skipped_images_ = 0;
  double seconds_waited_ = 0;
};

}  // namespace trol
