#include "data/synthetic_batch.h"

#include <stdexcept>

#include "trol/causal_lm_loss.h"

namespace trol {

ModelInputs synthetic_batch(const ModelConfig& config, const SyntheticBatchShape& shape, uint64_t seed) {
  const int64_t images = config.vision.enabled ? shape.images_per_sample : 0;
  const int64_t per_image = config.vision.enabled ? config.vision.tokens_per_image() : 0;
  const int64_t image_tokens = images * per_image;
  const int64_t min_len = image_tokens + 4;
  if (shape.seq_len < min_len) {
    throw std::invalid_argument("synthetic batch: seq_len " + std::to_string(shape.seq_len) + " cannot hold " +
                                std::to_string(images) + " image(s) of " + std::to_string(per_image) +
                                " tokens plus text (need at least " + std::to_string(min_len) + ")");
  }
  auto generator = at::detail::createCPUGenerator(seed);
  const auto image_token = config.resolved_image_token_id();
  const int64_t b = shape.batch_size, t = shape.seq_len;

  auto ids = torch::zeros({b, t}, torch::kLong);
  auto mask = torch::zeros({b, t}, torch::kLong);
  auto labels = torch::full({b, t}, kIgnoreIndex, torch::kLong);
  for (int64_t row = 0; row < b; ++row) {
    const int64_t len = shape.vary_lengths && b > 1 ? t - (row * (t - min_len)) / (2 * (b - 1)) : t;
    // Text tokens avoid the image token id; image runs start after one text token each.
    auto text = torch::randint(0, config.llm.vocab_size - 1, {len}, generator, torch::kLong);
    text.masked_fill_(text.eq(image_token), (image_token + 1) % config.llm.vocab_size);
    ids[row].narrow(0, 0, len).copy_(text);
    int64_t pos = 1;
    for (int64_t i = 0; i < images; ++i) {
      ids[row].narrow(0, pos, per_image).fill_(image_token);
      pos += per_image + 1;
    }
    mask[row].narrow(0, 0, len).fill_(1);
    const int64_t answer_start = std::max(pos, len / 2);
    labels[row].narrow(0, answer_start, len - answer_start).copy_(ids[row].narrow(0, answer_start, len - answer_start));
  }
  ModelInputs inputs{ids, mask, {}, labels};
  if (images > 0) {
    const auto& v = config.vision;
    inputs.pixel_values = torch::randn({b * images, v.num_channels, v.image_size, v.image_size}, generator);
  }
  return inputs;
}

}  // namespace trol
