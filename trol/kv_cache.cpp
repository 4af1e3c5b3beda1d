#include "trol/kv_cache.h"

#include <stdexcept>

namespace trol {

DecodeMode parse_decode_mode(const std::string& name) {
  if (name == "exact") return DecodeMode::exact;
  if (name == "released") return DecodeMode::released;
  throw std::invalid_argument("unknown decode mode '" + name + "' (expected exact or released)");
}

std::string decode_mode_name(DecodeMode mode) { return mode == DecodeMode::exact ? "exact" : "released"; }

KvCache::KvCache(int64_t layers, int64_t passes, int64_t batch, int64_t kv_heads, int64_t head_dim,
                 int64_t capacity, const torch::TensorOptions& options)
    : layers_(layers), passes_(passes), capacity_(capacity) {
  if (layers < 1 || passes < 1 || passes > 2 || batch < 1 || kv_heads < 1 || head_dim < 1 || capacity < 1) {
    throw std::invalid_argument("KvCache: impossible shape (layers " + std::to_string(layers) + ", passes " +
                                std::to_string(passes) + ", batch " + std::to_string(batch) + ", kv heads " +
                                std::to_string(kv_heads) + ", head dim " + std::to_string(head_dim) + ", capacity " +
                                std::to_string(capacity) + ")");
  }
  for (int64_t i = 0; i < layers * passes; ++i) {
    keys_.push_back(torch::zeros({batch, kv_heads, capacity, head_dim}, options));
    values_.push_back(torch::zeros({batch, kv_heads, capacity, head_dim}, options));
  }
}

KvSlot KvCache::slot(int64_t layer, int64_t pass) const {
  if (layer < 0 || layer >= layers_ || pass < 0 || pass >= passes_) {
    throw std::out_of_range("KvCache: no slot for layer " + std::to_string(layer) + ", pass " + std::to_string(pass));
  }
  const auto i = static_cast<size_t>(layer * passes_ + pass);
  return {keys_[i], values_[i], length_};
}

void KvCache::advance(int64_t tokens) {
  if (tokens < 0 || length_ + tokens > capacity_) {
    throw std::length_error("KvCache: " + std::to_string(length_) + " + " + std::to_string(tokens) +
                            " tokens exceed the capacity of " + std::to_string(capacity_));
  }
  length_ += tokens;
}

void KvCache::reorder(const torch::Tensor& rows) {
  for (auto* buffers : {&keys_, &values_}) {
    for (auto& buffer : *buffers) buffer = buffer.index_select(0, rows);
  }
}

}  // namespace trol
