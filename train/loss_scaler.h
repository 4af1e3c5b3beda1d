// Dynamic loss scaling for float16 mixed precision (what torch.cuda.amp.GradScaler does, which
// LibTorch's C++ API lacks): the loss is multiplied by `scale` before backward so small
// gradients do not flush to zero in float16, gradients are divided by it before clipping and
// the update, and a step whose gradients overflowed is skipped and halves the scale. After
// `growth_interval` clean steps in a row the scale doubles. bfloat16 has float32's exponent
// range and needs none of this.
#pragma once

#include <torch/torch.h>

#include <vector>

namespace trol {

struct LossScalerState {
  double scale = 65536.0;           // 2^16, as GradScaler starts
  int64_t clean_steps = 0;          // steps since the last overflow or growth
};

class LossScaler {
 public:
  explicit LossScaler(LossScalerState state = {}, int64_t growth_interval = 2000)
      : state_(state), growth_interval_(growth_interval) {}

  double scale() const { return state_.scale; }
  const LossScalerState& state() const { return state_; }

  // Divides the gradients by the scale (a power of two: exact) and says whether all are finite.
  bool unscale(const std::vector<torch::Tensor>& parameters) const;

  // After a step: halve on overflow, double after growth_interval clean steps.
  void update(bool overflowed);

 private:
  LossScalerState state_;
  int64_t growth_interval_;
};

}  // namespace trol
