// Placing image features into the token embeddings of a batch.
#pragma once

#include <torch/torch.h>

namespace trol {

// Returns `text_embeds` [batch, seq, hidden] with its rows at positions where `image_mask`
// [batch, seq] is true replaced, in reading order (row by row, left to right), by the rows of
// `image_features` [images, tokens_per_image, hidden] flattened in image order. Any number of
// images per sample works; one scatter, no per-token loop. Differentiable in both inputs.
// `positions` is the count of true entries in `image_mask` where the caller knows it without
// reading the mask (the mask on a GPU: reading it is a device sync); -1 counts them here.
// Throws std::invalid_argument when the count of image positions differs from the count of
// feature rows (the message gives both, so a template/tokenizer mismatch is easy to find).
torch::Tensor merge_image_features(const torch::Tensor& text_embeds, const torch::Tensor& image_mask,
                                   const torch::Tensor& image_features, int64_t positions = -1);

}  // namespace trol
