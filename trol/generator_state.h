// The states of LibTorch's default random generators, read and written under each generator's
// lock: a checkpoint stores them so a resumed run draws the same dropout masks, and a
// recomputed block (trol/activation_checkpoint.h) replays the forward pass's.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

namespace trol {

// The default generator of `device` (kCPU, or a CUDA device with its index).
at::Tensor generator_state(c10::Device device);
void set_generator_state(c10::Device device, const at::Tensor& state);

}  // namespace trol
