#include "train/distributed/gradient_buckets.h"

#include <torch/csrc/autograd/utils/lambda_post_hook.h>
#include <torch/csrc/autograd/variable.h>

#include <mutex>

#include "train/distributed/process_group.h"

namespace trol {

std::vector<std::vector<size_t>> plan_buckets(const std::vector<torch::Tensor>& parameters, int64_t cap_bytes) {
  std::vector<std::vector<size_t>> buckets;
  int64_t filled = 0;
  for (size_t k = parameters.size(); k-- > 0;) {
    const auto& p = parameters[k];
    const int64_t bytes = p.numel() * static_cast<int64_t>(p.element_size());
    const bool fits = !buckets.empty() && filled + bytes <= cap_bytes &&
                      parameters[buckets.back().front()].scalar_type() == p.scalar_type() &&
                      parameters[buckets.back().front()].device() == p.device();
    if (!fits) {
      buckets.emplace_back();
      filled = 0;
    }
    buckets.back().push_back(k);
    filled += bytes;
  }
  return buckets;
}

struct GradientBuckets::State {
  std::mutex mutex;
  std::vector<torch::Tensor> parameters;
  std::shared_ptr<ProcessGroup> group;
  std::vector<std::vector<size_t>> plan;
  std::vector<size_t> bucket_of, offset_of;  // per parameter: its bucket, its first element there
  std::vector<torch::Tensor> buffers;        // per bucket: the flat gradients
  std::vector<CollectiveWork> works;         // per bucket, while in flight
  std::vector<int64_t> waiting;              // per bucket: parameters whose gradient is not in yet
  std::vector<bool> ready;                   // per parameter, this sync
  size_t next = 0;                           // the next bucket to launch
  bool armed = false;
  std::function<void(const std::string&)> listener;
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators;
  std::vector<uintptr_t> hook_keys;

  torch::Tensor slot(size_t index) {
    const auto& p = parameters[index];
    return buffers[bucket_of[index]].narrow(0, static_cast<int64_t>(offset_of[index]), p.numel());
  }

  void launch_ready_buckets() {  // with the mutex held
    while (next < plan.size() && waiting[next] == 0) {
      if (listener) listener("launch " + std::to_string(next));
      works[next] = group->all_reduce_sum(
          buffers[next], "gradient bucket " + std::to_string(next + 1) + "/" + std::to_string(plan.size()));
      ++next;
    }
  }

  // The gradient accumulator of parameter `index` has just run: its gradient is final for
  // this backward.
  void gradient_ready(size_t index) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!armed) return;
    const auto& grad = parameters[index].grad();
    if (!grad.defined()) return;
    torch::NoGradGuard no_grad;
    if (ready[index]) {
      // The accumulator ran again in the same backward (a nested backward, as some
      // recomputation schemes run): fine while its bucket has not gone out.
      TORCH_CHECK(bucket_of[index] >= next, "gradient buckets: the gradient of parameter ", index,
                  " changed after its bucket was all-reduced (its accumulator ran twice in one backward)");
      slot(index).copy_(grad.reshape({-1}));
      return;
    }
    slot(index).copy_(grad.reshape({-1}));
    ready[index] = true;
    --waiting[bucket_of[index]];
    launch_ready_buckets();
  }
};

GradientBuckets::GradientBuckets(std::vector<torch::Tensor> parameters, int64_t cap_bytes,
                                 std::shared_ptr<ProcessGroup> group)
    : state_(std::make_shared<State>()) {
  auto& s = *state_;
  s.parameters = std::move(parameters);
  s.group = std::move(group);
  s.plan = plan_buckets(s.parameters, cap_bytes);
  s.bucket_of.resize(s.parameters.size());
  s.offset_of.resize(s.parameters.size());
  for (size_t b = 0; b < s.plan.size(); ++b) {
    int64_t elements = 0;
    for (size_t index : s.plan[b]) {
      s.bucket_of[index] = b;
      s.offset_of[index] = static_cast<size_t>(elements);
      elements += s.parameters[index].numel();
    }
    const auto& first = s.parameters[s.plan[b].front()];
    s.buffers.push_back(torch::zeros({elements}, first.options().requires_grad(false)));
  }
  s.works.resize(s.plan.size());
  s.waiting.assign(s.plan.size(), 0);
  s.ready.assign(s.parameters.size(), false);

  // A post-hook on each parameter's AccumulateGrad node runs once per backward, after the
  // gradients from every use of the parameter (TroL traverses each layer twice) are summed
  // into .grad. The node must stay alive (autograd holds it weakly), so we keep it.
  std::weak_ptr<State> weak = state_;
  for (size_t index = 0; index < s.parameters.size(); ++index) {
    auto accumulator = torch::autograd::impl::grad_accumulator(s.parameters[index]);
    TORCH_CHECK(accumulator, "gradient buckets: parameter ", index, " does not require a gradient");
    s.hook_keys.push_back(accumulator->add_post_hook(std::make_unique<torch::autograd::utils::LambdaPostHook>(
        [weak, index](const torch::autograd::variable_list& outputs, const torch::autograd::variable_list&) {
          if (auto state = weak.lock()) state->gradient_ready(index);
          return outputs;
        })));
    s.accumulators.push_back(std::move(accumulator));
  }
}

GradientBuckets::~GradientBuckets() {
  std::lock_guard<std::mutex> lock(state_->mutex);
  for (size_t i = 0; i < state_->accumulators.size(); ++i) state_->accumulators[i]->del_post_hook(state_->hook_keys[i]);
}

void GradientBuckets::prepare(bool sync) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  auto& s = *state_;
  TORCH_CHECK(s.next == 0 || s.next == s.plan.size(), "gradient buckets: prepare() while buckets are in flight");
  s.armed = sync;
  if (!sync) return;
  s.next = 0;
  std::fill(s.ready.begin(), s.ready.end(), false);
  for (size_t b = 0; b < s.plan.size(); ++b) s.waiting[b] = static_cast<int64_t>(s.plan[b].size());
}

void GradientBuckets::finish() {
  auto& s = *state_;
  torch::NoGradGuard no_grad;
  // Which parameters have a gradient here (this backward or an earlier micro-batch's).
  auto used = torch::zeros({static_cast<int64_t>(s.parameters.size())}, torch::kFloat32);
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    TORCH_CHECK(s.armed, "gradient buckets: finish() without prepare(true)");
    s.armed = false;
    for (size_t index = 0; index < s.parameters.size(); ++index) {
      const auto& grad = s.parameters[index].grad();
      if (grad.defined()) used[static_cast<int64_t>(index)] = 1.0f;
      if (s.ready[index]) continue;
      if (grad.defined()) {
        s.slot(index).copy_(grad.reshape({-1}));
      } else {
        s.slot(index).zero_();
      }
      s.ready[index] = true;
      --s.waiting[s.bucket_of[index]];
    }
    s.launch_ready_buckets();
  }
  auto used_device = used.to(s.group->device());
  auto used_work = s.group->all_reduce_sum(used_device, "used-parameter map");
  for (auto& work : s.works) work.wait();
  used_work.wait();
  const auto used_anywhere = used_device.cpu();
  const auto counts = used_anywhere.accessor<float, 1>();
  for (size_t index = 0; index < s.parameters.size(); ++index) {
    if (counts[static_cast<int64_t>(index)] == 0.0f) continue;
    auto& p = s.parameters[index];
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    p.mutable_grad().copy_(s.slot(index).view_as(p));
  }
}

size_t GradientBuckets::bucket_count() const { return state_->plan.size(); }

std::vector<int64_t> GradientBuckets::bucket_bytes() const {
  std::vector<int64_t> bytes;
  for (const auto& b : state_->buffers) bytes.push_back(b.numel() * static_cast<int64_t>(b.element_size()));
  return bytes;
}

int64_t GradientBuckets::bytes_per_sync() const {
  int64_t total = 0;
  for (auto b : bucket_bytes()) total += b;
  return total + static_cast<int64_t>(state_->parameters.size()) * 4;  // and the used-parameter map
}

void GradientBuckets::on_event(std::function<void(const std::string&)> listener) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->listener = std::move(listener);
}

}  // namespace trol
