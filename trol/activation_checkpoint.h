// Activation checkpointing: run a block without keeping its intermediate activations, and run
// it again during backward to get them back. Traversal doubles the activations a TroL layer
// keeps for backward; checkpointing each layer keeps only its input, for about one more
// forward pass of compute.
//
// LibTorch's C++ API has no checkpoint helper (PyTorch's torch.utils.checkpoint is Python),
// so this is a custom autograd function. The generator states (CPU, and CUDA's for CUDA
// inputs) are saved before the forward and restored for the recomputation, so dropout draws
// the same masks both times. The block's parameters are inputs of the function and get their
// gradients through it, so a block whose input needs no gradient (frozen embeddings below it,
// as in step 1 of the paper) still trains.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <vector>

namespace trol {

using Block = std::function<std::vector<torch::Tensor>(const std::vector<torch::Tensor>&)>;

// Returns block(inputs), keeping only `inputs` (and `parameters`, the tensors `block` reads
// that need gradients) for backward. With grad mode off it just calls block. `block` must be
// deterministic given the generator states, and must not change its captures between the
// forward and the backward pass.
std::vector<torch::Tensor> checkpointed(const Block& block, const std::vector<torch::Tensor>& inputs,
                                        const std::vector<torch::Tensor>& parameters);

}  // namespace trol
