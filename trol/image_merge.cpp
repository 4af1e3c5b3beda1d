#include "trol/image_merge.h"

#include <stdexcept>
#include <string>

namespace trol {

torch::Tensor merge_image_features(const torch::Tensor& text_embeds, const torch::Tensor& image_mask,
                                   const torch::Tensor& image_features, int64_t positions) {
  const int64_t hidden = text_embeds.size(-1);
  if (positions < 0) positions = image_mask.sum().item<int64_t>();
  const int64_t rows = image_features.defined() ? image_features.numel() / std::max<int64_t>(hidden, 1) : 0;
  if (image_features.defined() && image_features.size(-1) != hidden) {
    throw std::invalid_argument("image features are " + std::to_string(image_features.size(-1)) +
                                " wide but the text embeddings are " + std::to_string(hidden) + " wide");
  }
  if (positions != rows) {
    const int64_t tiles = image_features.defined() ? image_features.size(0) : 0;
    const int64_t per_tile = tiles > 0 ? image_features.size(1) : 0;
    throw std::invalid_argument("the batch has " + std::to_string(positions) + " image-token positions but " +
                                std::to_string(tiles) + " image tile(s) x " + std::to_string(per_tile) +
                                " tokens = " + std::to_string(rows) + " feature rows");
  }
  if (rows == 0) return text_embeds;
  // masked_scatter fills the masked rows in row-major (reading) order, and unlike an index
  // built with nonzero() it needs no device sync.
  return text_embeds.masked_scatter(image_mask.unsqueeze(-1).expand_as(text_embeds),
                                    image_features.reshape({rows, hidden}).to(text_embeds.scalar_type()));
}

}  // namespace trol
