#include "data/batch_loader.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <numeric>

#include "data/distributed_sampler.h"
#include "data/image_ops.h"
#include "trol/causal_lm_loss.h"

namespace trol {

std::vector<size_t> epoch_order(const std::vector<TrainingSample>& samples, size_t batch_size, uint64_t seed,
                                int64_t epoch, bool group_by_length) {
  std::vector<size_t> order(samples.size());
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(seed * 1000003ULL + static_cast<uint64_t>(epoch));
  std::shuffle(order.begin(), order.end(), rng);
  if (!group_by_length) return order;
  // Sort by length within mega-batches of 32 batches, then shuffle the batches: similar
  // lengths share a batch while the epoch stays random at the batch level.
  const size_t mega = 32 * batch_size;
  for (size_t start = 0; start < order.size(); start += mega) {
    const auto end = order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), start + mega));
    std::stable_sort(order.begin() + static_cast<std::ptrdiff_t>(start), end, [&](size_t a, size_t b) {
      return samples[a].input_ids.size() > samples[b].input_ids.size();
    });
  }
  std::vector<std::vector<size_t>> batches;
  for (size_t start = 0; start < order.size(); start += batch_size) {
    batches.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(start),
                         order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), start + batch_size)));
  }
  std::shuffle(batches.begin(), batches.end(), rng);
  order.clear();
  for (const auto& b : batches) order.insert(order.end(), b.begin(), b.end());
  return order;
}

Batch collate(const std::vector<const TrainingSample*>& samples, const std::vector<torch::Tensor>& images,
              int64_t pad_id) {
  size_t longest = 0;
  for (const auto* s : samples) longest = std::max(longest, s->input_ids.size());
  const auto b = static_cast<int64_t>(samples.size());
  const auto t = static_cast<int64_t>(longest);
  auto ids = torch::full({b, t}, pad_id, torch::kLong);
  auto mask = torch::zeros({b, t}, torch::kLong);
  auto labels = torch::full({b, t}, kIgnoreIndex, torch::kLong);
  Batch batch;
  for (int64_t row = 0; row < b; ++row) {
    const auto& s = *samples[row];
    const auto n = static_cast<int64_t>(s.input_ids.size());
    std::copy(s.input_ids.begin(), s.input_ids.end(), ids[row].data_ptr<int64_t>());
    std::copy(s.labels.begin(), s.labels.end(), labels[row].data_ptr<int64_t>());
    mask[row].narrow(0, 0, n).fill_(1);
    batch.sample_ids.push_back(s.id);
    batch.tokens += n;
    // The first label never counts: nothing predicts it.
    batch.supervised_tokens += std::count_if(s.labels.begin() + 1, s.labels.end(), [](int64_t l) { return l != kIgnoreIndex; });
  }
  batch.inputs = {ids, mask, images.empty() ? torch::Tensor() : torch::cat(images), labels};
  batch.inputs.right_padded = true;
  return batch;
}

BatchLoader::BatchLoader(std::vector<TrainingSample> samples, BatchLoaderOptions options)
    : samples_(std::move(samples)), options_(options) {
  if (samples_.empty()) throw std::invalid_argument("batch loader: no samples");
  if (options_.batch_size < 1) throw std::invalid_argument("batch loader: batch_size must be at least 1");
  // With no room for a batch the worker would wait forever and so would next().
  if (options_.prefetch < 1) throw std::invalid_argument("batch loader: prefetch must be at least 1");
  if (options_.start_position < 0) throw std::invalid_argument("batch loader: start_position must not be negative");
  if (options_.shard_count < 1 || options_.shard_rank < 0 || options_.shard_rank >= options_.shard_count) {
    throw std::invalid_argument("batch loader: shard_rank must be within [0, shard_count)");
  }
  worker_ = std::thread([this] { work(); });
}

BatchLoader::~BatchLoader() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (worker_.joinable()) worker_.join();
}

int64_t BatchLoader::skipped_images() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return skipped_images_;
}

std::optional<Batch> BatchLoader::build(const std::vector<size_t>& indices) {
  std::vector<const TrainingSample*> kept;
  std::vector<torch::Tensor> images;
  for (size_t index : indices) {
    const auto& sample = samples_[index];
    std::vector<torch::Tensor> sample_images;
    try {
      for (size_t i = 0; i < sample.image_paths.size(); ++i) {
        const auto& path = sample.image_paths[i];
        auto tiles = image_to_tiles(load_rgb(path), options_.image_size, options_.tiling, options_.mean, options_.std);
        if (i < sample.image_tiles.size() && tiles.size(0) != sample.image_tiles[i]) {
          // The header gave another size than the pixels (a damaged or replaced file).
          throw std::runtime_error("image '" + path + "' decodes to " + std::to_string(tiles.size(0)) +
                                   " tiles, but its header's size gave " + std::to_string(sample.image_tiles[i]));
        }
        sample_images.push_back(std::move(tiles));
      }
    } catch (const std::exception& e) {
      if (!options_.skip_bad_images) throw std::runtime_error("sample '" + sample.id + "': " + e.what());
      spdlog::warn("skipping sample '{}': {}", sample.id, e.what());
      std::lock_guard<std::mutex> lock(mutex_);
      ++skipped_images_;
      continue;
    }
    kept.push_back(&sample);
    images.insert(images.end(), sample_images.begin(), sample_images.end());
  }
  if (kept.empty()) return std::nullopt;
  auto batch = collate(kept, images, options_.pad_id);
  if (options_.pin_memory) {
    for (auto* t : {&batch.inputs.input_ids, &batch.inputs.attention_mask, &batch.inputs.labels,
                    &batch.inputs.pixel_values}) {
      if (t->defined()) *t = t->pin_memory();
    }
  }
  return batch;
}

void BatchLoader::work() {
  try {
    const auto size = static_cast<int64_t>(samples_.size());
    const auto batches_per_epoch = (size + options_.batch_size - 1) / options_.batch_size;
    int64_t position = options_.start_position;
    for (int64_t epoch = position / batches_per_epoch;; ++epoch) {
      const auto order = epoch_order(samples_, options_.batch_size, options_.seed, epoch, options_.group_by_length);
      for (int64_t start = (position % batches_per_epoch) * options_.batch_size; start < size;
           start += options_.batch_size) {
        std::vector<size_t> indices(order.begin() + start, order.begin() + std::min(size, start + options_.batch_size));
        if (options_.shard_count > 1) indices = shard_of_batch(indices, options_.shard_rank, options_.shard_count);
        ++position;
        auto batch = build(indices);
        if (!batch) {
          // Every rank must take part in every step's collectives: a sharded loader hands
          // out its empty share too.
          if (options_.shard_count == 1) continue;
          batch = Batch{};
        }
        batch->sampler_position = position;
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait(lock, [&] { return stopping_ || static_cast<int64_t>(ready_.size()) < options_.prefetch; });
        if (stopping_) return;
        ready_.push_back(std::move(*batch));
        changed_.notify_all();
      }
    }
  } catch (...) {
    std::lock_guard<std::mutex> lock(mutex_);
    error_ = std::current_exception();
    changed_.notify_all();
  }
}

Batch BatchLoader::next() {
  const auto start = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return !ready_.empty() || error_; });
  seconds_waited_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (ready_.empty() && error_) std::rethrow_exception(error_);
  Batch batch = std::move(ready_.front());
  ready_.pop_front();
  changed_.notify_all();
  return batch;
}

}  // namespace trol
