// AdamW's update as one pass over memory per parameter on CPU float32, in place of LibTorch
// 1.13's C++ AdamW, which runs it as seven tensor operations (decay, two moment updates,
// sqrt, division, epsilon, the addcdiv), each a full pass over the parameter-sized tensors:
// 5 % of the medium bench step (BENCHMARKS.md). Same rule, same hyper-parameters, and the
// state lives in the torch::optim::AdamW object itself (step, exp_avg, exp_avg_sq), so the
// two are interchangeable from one step to the next.
#pragma once

#include <torch/torch.h>

namespace trol {

// One AdamW step over every parameter with a gradient (amsgrad off): trol's kernel where every
// parameter, gradient and state is a contiguous float32 CPU tensor and the fused CPU kernels
// are on (runtime.fused_cpu_kernels); LibTorch's fused multi-tensor kernel (at::_fused_adamw_,
// LibTorch >= 2.4) on GPUs, and on CPU where trol's kernel does not apply; elsewhere LibTorch's
// own AdamW step (composite ops).
void adamw_step(torch::optim::AdamW& optimizer);

}  // namespace trol
