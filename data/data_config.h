// Where a run's data comes from and how it becomes token ids and pixels.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace trol {

class ConfigReader;

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

  std::string resolve(const std::string& relative) const;  // root-relative path (absolute kept)
  std::string images_folder() const;
};

DataConfig read_data_config(ConfigReader& reader);

}  // namespace trol
