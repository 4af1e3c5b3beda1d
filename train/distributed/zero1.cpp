#include "train/distributed/zero1.h"

#include <algorithm>
#include <numeric>

#include "train/distributed/process_group.h"
#include "trol/compat.h"

namespace trol {

std::vector<int64_t> partition_by_size(const std::vector<int64_t>& sizes, int64_t ranks) {
  std::vector<size_t> order(sizes.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return sizes[a] > sizes[b]; });
  std::vector<int64_t> load(static_cast<size_t>(ranks), 0), owner(sizes.size(), 0);
  for (const auto i : order) {
    const auto lightest = std::min_element(load.begin(), load.end()) - load.begin();
    owner[i] = lightest;
    load[static_cast<size_t>(lightest)] += sizes[i];
  }
  return owner;
}

Zero1Shards::Zero1Shards(std::vector<torch::Tensor> trainable, std::shared_ptr<ProcessGroup> group)
    : trainable_(std::move(trainable)), group_(std::move(group)) {
  std::vector<int64_t> sizes;
  for (const auto& p : trainable_) sizes.push_back(p.numel());
  owner_ = partition_by_size(sizes, group_->world_size());
}

void Zero1Shards::drop_foreign_gradients() {
  for (size_t i = 0; i < trainable_.size(); ++i) {
    if (owner_[i] != group_->rank()) trainable_[i].mutable_grad() = torch::Tensor();
  }
}

void Zero1Shards::share_updated_parameters() {
  torch::NoGradGuard no_grad;
  for (int64_t root = 0; root < group_->world_size(); ++root) {
    std::vector<torch::Tensor> owned;
    for (size_t i = 0; i < trainable_.size(); ++i) {
      if (owner_[i] == root) owned.push_back(trainable_[i]);
    }
    group_->broadcast(owned, root, "ZeRO-1 parameters of rank " + std::to_string(root));
  }
}

void Zero1Shards::gather_optimizer_state(torch::optim::AdamW& adamw) {
  torch::NoGradGuard no_grad;
  auto& states = adamw.state();
  for (int64_t root = 0; root < group_->world_size(); ++root) {
    // Per parameter: both moments and the step count (-1: the owner has no state for it, a
    // parameter that has not had a gradient yet).
    std::vector<size_t> indices;
    std::vector<torch::Tensor> payload;
    for (size_t i = 0; i < trainable_.size(); ++i) {
      if (owner_[i] != root) continue;
      const auto& p = trainable_[i];
      const auto found = states.find(compat::optimizer_state_key(p));
      auto step = torch::full({1}, -1, torch::kInt64);
      torch::Tensor exp_avg = torch::zeros_like(p), exp_avg_sq = torch::zeros_like(p);
      if (root == group_->rank() && found != states.end()) {
        const auto& state = static_cast<const torch::optim::AdamWParamState&>(*found->second);
        step.fill_(state.step());
        exp_avg = state.exp_avg().clone();
        exp_avg_sq = state.exp_avg_sq().clone();
      }
      indices.push_back(i);
      payload.insert(payload.end(), {exp_avg, exp_avg_sq, step});
    }
    group_->broadcast(payload, root, "ZeRO-1 optimizer state of rank " + std::to_string(root));
    if (group_->rank() != 0 || root == 0) continue;
    for (size_t k = 0; k < indices.size(); ++k) {
      const auto step = payload[3 * k + 2].item<int64_t>();
      if (step < 0) continue;
      auto state = std::make_unique<torch::optim::AdamWParamState>();
      state->step(step);
      state->exp_avg(payload[3 * k]);
      state->exp_avg_sq(payload[3 * k + 1]);
      states[compat::optimizer_state_key(trainable_[indices[k]])] = std::move(state);
    }
  }
}

void Zero1Shards::release_foreign_state(torch::optim::AdamW& adamw) {
  auto& states = adamw.state();
  for (size_t i = 0; i < trainable_.size(); ++i) {
    if (owner_[i] != group_->rank()) states.erase(compat::optimizer_state_key(trainable_[i]));
  }
}

int64_t Zero1Shards::owned_elements() const {
  int64_t n = 0;
  for (size_t i = 0; i < trainable_.size(); ++i) n += owner_[i] == group_->rank() ? trainable_[i].numel() : 0;
  return n;
}

int64_t Zero1Shards::total_elements() const {
  int64_t n = 0;
  for (const auto& p : trainable_) n += p.numel();
  return n;
}

}  // namespace trol
