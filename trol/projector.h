// The vision-to-language projector (DESIGN.md): `mlp2x_gelu` = Linear GELU Linear (TroL-1.8B/7B),
// `ln_mlp2x_gelu` = LayerNorm Linear GELU Linear (TroL-3.8B, after pixel shuffle).
// A torch::nn::Sequential, so weights are named like PyTorch's nn.Sequential (0, 1, 3 / 0, 2).
#pragma once

#include <torch/torch.h>

#include "trol/model_config.h"

namespace trol {

torch::nn::Sequential make_projector(const ModelConfig& config);

}  // namespace trol
