// Where a run's data comes from and how it becomes token ids and pixels.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace trol {

class ConfigReader;

// How images are cut into model inputs: InternVL's dynamic tiling (TroL-3.8B: 1 to 6 tiles of
// model.vision.image_size matched to the aspect ratio, plus a thumbnail), or, with max_tiles 1,
// the whole image resized to one tile. Each tile gives model.vision's tokens per image, so an
// image's token run is tiles x that (data/image_ops.h tile_count).
struct TilingOptions {
  int min_tiles = 1;
  int max_tiles = 1;
  bool thumbnail = true;  // InternVL's use_thumbnail (added only when there are several tiles)
  bool dynamic() const { return max_tiles > 1; }
};

struct DataConfig {
  std::string root;                  // dataset folder; dataset and tokenizer paths are relative to it
  std::string image_root;            // folder image paths are relative to ("": <root>/images)
  std::string tokenizer = "tokenizer.model";  // SentencePiece model, relative to root
  std::string template_name = "tiny";         // chat template: tiny | phi3 | internlm2
  int64_t max_length = 128;          // tokens per sample after image-token expansion
  std::string truncation = "drop";   // drop | fail: what to do with a sample longer than max_length
  std::string on_error = "skip";     // skip | fail: bad records and unreadable images
  std::array<double, 3> image_mean{0.5, 0.5, 0.5};  // per-channel normalisation (RGB)
  std::array<double, 3> image_std{0.5, 0.5, 0.5};
  int64_t prefetch_batches = 4;      // batches prepared ahead by the background thread
  TilingOptions tiling;              // keys min_tiles, max_tiles, tile_thumbnail

  std::string resolve(const std::string& relative) const;  // root-relative path (absolute kept)
  std::string images_folder() const;
};

DataConfig read_data_config(ConfigReader& reader);

}  // namespace trol
