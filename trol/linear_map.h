// x W^T + b, as torch::nn::functional::linear, with one CPU special case: a single row of
// float32 input (every linear layer and the LM head while decoding one sequence) goes through
// the matrix-vector product. LibTorch's addmm hands a one-row product to OpenBLAS's sgemm,
// which packs the whole weight into a buffer before reading it once; sgemv reads it in place,
// 2.7x faster for the Phi-3 LM head (BENCHMARKS.md, "Decoding with the KV cache").
#pragma once

#include <torch/torch.h>

namespace trol {

torch::Tensor linear_map(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias = {});

}  // namespace trol
