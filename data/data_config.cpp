#include "data/data_config.h"

#include <filesystem>

#include "trol/config_reader.h"

namespace trol {

std::string DataConfig::resolve(const std::string& relative) const {
  if (relative.empty() || std::filesystem::path(relative).is_absolute() || root.empty()) return relative;
  return (std::filesystem::path(root) / relative).string();
}

std::string DataConfig::images_folder() const { return image_root.empty() ? resolve("images") : image_root; }

DataConfig read_data_config(ConfigReader& reader) {
  DataConfig c;
  reader.read("root", c.root);
  reader.read("image_root", c.image_root);
  reader.read("tokenizer", c.tokenizer);
  reader.read("template", c.template_name);
  reader.read("max_length", c.max_length);
  reader.read("truncation", c.truncation);
  reader.read("on_error", c.on_error);
  std::vector<double> mean(c.image_mean.begin(), c.image_mean.end());
  std::vector<double> std(c.image_std.begin(), c.image_std.end());
  reader.read("image_mean", mean);
  reader.read("image_std", std);
  reader.read("prefetch_batches", c.prefetch_batches);
  int64_t min_tiles = c.tiling.min_tiles, max_tiles = c.tiling.max_tiles;
  reader.read("min_tiles", min_tiles);
  reader.read("max_tiles", max_tiles);
  reader.read("tile_thumbnail", c.tiling.thumbnail);
  reader.finish();
  if (mean.size() != 3) reader.fail("image_mean", "expected 3 values (R, G, B)");
  if (std.size() != 3) reader.fail("image_std", "expected 3 values (R, G, B)");
  for (int i = 0; i < 3; ++i) {
    c.image_mean[i] = mean[i];
    c.image_std[i] = std[i];
    if (!(std[i] > 0)) reader.fail("image_std", "values must be positive");
  }
  if (c.max_length < 2) reader.fail("max_length", "must be at least 2");
  if (c.truncation != "drop" && c.truncation != "fail") reader.fail("truncation", "expected drop or fail");
  if (c.on_error != "skip" && c.on_error != "fail") reader.fail("on_error", "expected skip or fail");
  if (c.prefetch_batches < 1) reader.fail("prefetch_batches", "must be at least 1");
  // InternVL's models use up to 12 (InternVL 1.5: 40); the candidate grids grow quadratically.
  constexpr int64_t kMaxTiles = 64;
  if (max_tiles < 1 || max_tiles > kMaxTiles) reader.fail("max_tiles", "must be in [1, " + std::to_string(kMaxTiles) + "]");
  if (min_tiles < 1 || min_tiles > max_tiles) reader.fail("min_tiles", "must be in [1, max_tiles]");
  c.tiling.min_tiles = int(min_tiles);
  c.tiling.max_tiles = int(max_tiles);
  return c;
}

}  // namespace trol
