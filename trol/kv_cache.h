// Keys and values of the tokens a generation has seen so far, per decoder layer and traversal
// pass, for incremental decoding.
//
// The buffers are allocated once for the whole generation (prompt plus the most new tokens),
// so a decode step writes one column per layer instead of copying the cache, and a step's cost
// stays flat in the generated length apart from the attention over the cached keys.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace trol {

// How a traversed model decodes with a cache (DESIGN.md §1).
enum class DecodeMode {
  // One cache per pass: every new token is traversed and mixed as in training, so decoding
  // equals re-running the full forward at every step (up to max_position_embeddings under a
  // RoPE scaling: beyond it the cached keys keep the rotation they were cached with, as in the
  // authors' code; trol/rotary.h).
  exact,
  // The authors' released code: the prompt is traversed (the first pass writes the cache, the
  // second attends with its own keys and writes nothing); every new token then runs each
  // layer once, without traversal or mixing.
  released,
};

// "exact" or "released"; throws std::invalid_argument naming both otherwise.
DecodeMode parse_decode_mode(const std::string& name);
std::string decode_mode_name(DecodeMode mode);

// One layer's and pass's buffers, and where this step's tokens go.
struct KvSlot {
  torch::Tensor keys;    // [batch, kv_heads, capacity, head_dim], rotary applied
  torch::Tensor values;  // [batch, kv_heads, capacity, head_dim]
  int64_t length = 0;    // tokens cached before this step; new ones are written at [length, length + n)

  // The first cached position this step's queries (at length and after) can see under a
  // sliding window of W (0: full attention, position 0). What lies before it stays in the
  // buffers, unread: the cache is sized for the whole generation anyway, and beam search's
  // reorder and the two traversal passes keep one layout.
  int64_t first_visible(int64_t sliding_window) const {
    return sliding_window > 0 && length > sliding_window ? length - sliding_window : 0;
  }
};

class KvCache {
 public:
  // Zeroed buffers for `layers` x `passes` slots, on the device and dtype of `options`.
  KvCache(int64_t layers, int64_t passes, int64_t batch, int64_t kv_heads, int64_t head_dim, int64_t capacity,
          const torch::TensorOptions& options);

  KvSlot slot(int64_t layer, int64_t pass) const;
  int64_t length() const { return length_; }
  int64_t capacity() const { return capacity_; }
  int64_t passes() const { return passes_; }

  // Marks `tokens` more positions as cached, once every layer has written them; throws
  // std::length_error beyond the capacity.
  void advance(int64_t tokens);

  // Keeps the batch rows `rows` (int64 [n] on the cache's device; n may differ from the batch,
  // a row may repeat) of every layer's and pass's buffers, in that order. Beam search moves
  // each beam's keys and values to the beams that continue it; the first move copies each
  // prompt's row to its beams.
  void reorder(const torch::Tensor& rows);

 private:
  int64_t layers_, passes_, capacity_, length_ = 0;
  std::vector<torch::Tensor> keys_, values_;  // index layer * passes + pass
};

}  // namespace trol
