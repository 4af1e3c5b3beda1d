#include "data/training_set.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <unordered_map>

#include "data/chat_template.h"
#include "data/image_ops.h"
#include "data/llava_reader.h"

namespace trol {

namespace {

// Tiles per image file under dynamic tiling, from its header (read once per file: datasets ask
// many questions about one image).
struct TileCounter {
  TilingOptions tiling;
  int64_t tile_size;
  std::unordered_map<std::string, int64_t> known;

  int64_t tiles(const std::string& path, const std::string& sample) {
    if (const auto it = known.find(path); it != known.end()) return it->second;
    cv::Size size;
    try {
      size = image_file_size(path);
    } catch (const std::exception& e) {
      throw std::runtime_error(sample + ": " + e.what());
    }
    return known[path] = tile_count(size.width, size.height, tile_size, tiling);
  }
};

}  // namespace

Tokenizer load_tokenizer(const DataConfig& data) {
  return Tokenizer::load(data.resolve(data.tokenizer), chat_template(data.template_name).special_tokens());
}

void check_tokenizer_matches_model(const Tokenizer& tokenizer, const DataConfig& data, const ModelConfig& model) {
  if (tokenizer.vocab_size() > model.llm.embedding_rows()) {
    throw std::invalid_argument("the tokenizer " + tokenizer.model_file() + " has " +
                                std::to_string(tokenizer.vocab_size()) + " tokens but model.llm.vocab_size is " +
                                std::to_string(model.llm.vocab_size) +
                                (model.llm.extra_embedding_rows > 0
                                     ? " + extra_embedding_rows " + std::to_string(model.llm.extra_embedding_rows)
                                     : std::string()));
  }
  if (!model.vision.enabled) return;
  const auto image_token = chat_template(data.template_name).image_token();
  const auto id = tokenizer.token_id(image_token);
  if (id != model.resolved_image_token_id()) {
    throw std::invalid_argument("the template's image token '" + image_token + "' is id " + std::to_string(id) +
                                " in " + tokenizer.model_file() + " but model.image_token_id is " +
                                std::to_string(model.resolved_image_token_id()) + ": set model.image_token_id: " +
                                std::to_string(id));
  }
}

TrainingSet build_training_set(const DataConfig& data, const std::vector<std::string>& datasets,
                               const ModelConfig& model) {
  const auto tokenizer = load_tokenizer(data);
  check_tokenizer_matches_model(tokenizer, data, model);
  const auto chat = chat_template(data.template_name);
  const int64_t per_image = model.vision.enabled ? model.vision.tokens_per_image() : 0;
  const auto on_error = data.on_error == "skip" ? OnError::Skip : OnError::Fail;
  const auto truncation = data.truncation == "drop" ? Truncation::Drop : Truncation::Fail;
  const std::filesystem::path images = data.images_folder();
  TileCounter sizer{data.tiling, model.vision.image_size, {}};

  TrainingSet set;
  set.pad_id = tokenizer.pad_id();
  for (const auto& name : datasets) {
    const auto file = data.resolve(name);
    ReadReport report;
    const auto conversations = read_llava_file(file, on_error, &report);
    set.bad_records += report.skipped;
    for (const auto& problem : report.problems) spdlog::warn("{}", problem);
    for (const auto& conversation : conversations) {
      if (!conversation.images.empty() && !model.vision.enabled) {
        throw std::invalid_argument(describe(conversation) + " has images but model.vision.enabled is false");
      }
      std::vector<std::string> paths;
      for (const auto& image : conversation.images) paths.push_back((images / image).string());
      std::optional<EncodedSample> encoded;
      std::vector<int64_t> tiles;
      try {
        std::vector<int64_t> tokens(paths.size(), per_image);
        if (data.tiling.dynamic()) {
          for (size_t i = 0; i < paths.size(); ++i) {
            tiles.push_back(sizer.tiles(paths[i], describe(conversation)));
            tokens[i] = tiles.back() * per_image;
          }
        }
        encoded = encode_conversation(conversation, tokenizer, chat, tokens, data.max_length, truncation);
      } catch (const std::exception& e) {
        if (on_error == OnError::Fail) throw;
        spdlog::warn("{}", e.what());
        ++set.bad_records;
        continue;
      }
      if (!encoded) {
        ++set.dropped;
        continue;
      }
      TrainingSample sample{conversation.id, std::move(encoded->input_ids), std::move(encoded->labels), std::move(paths),
                            std::move(tiles)};
      set.samples.push_back(std::move(sample));
    }
    spdlog::info("{}: {} samples ({} bad records skipped)", file, conversations.size(), report.skipped);
  }
  if (set.dropped > 0) {
    spdlog::warn("{} samples longer than data.max_length = {} were dropped", set.dropped, data.max_length);
  }
  if (set.samples.empty()) throw std::invalid_argument("no usable training samples in the stage's datasets");
  return set;
}

}  // namespace trol
