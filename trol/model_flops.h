// Floating-point operations of a model, counted from its configuration: what `trol bench`
// divides by time to get achieved FLOP/s and MFU.
//
// Counted: every matrix product, at 2 FLOPs per multiply-add (the convention behind MFU in
// PaLM and Megatron): the decoder's projections and MLP, attention scores and their weighted
// sum over the whole sequence (as computed: the eager attention forms all seq x seq scores
// and masks half of them), the LM head, the vision encoder's patch embedding, projections and
// attention, and the projector. Under TroL every decoder layer runs twice and each layer's
// gate adds one hidden-to-1 product. Not counted: norms, activations, softmax, rotary and
// other element-wise work (a few percent at these widths).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "trol/model_config.h"

namespace trol {

// Forward FLOPs, split where a training step treats them differently.
struct ForwardFlops {
  double decoder_weights = 0;    // per position: projections and MLP of all layer passes
  double decoder_attention = 0;  // per position: scores and weighted values over seq_len keys
  double gates = 0;              // per position: the TroL-Mixer's products
  double lm_head = 0;            // per position
  double vision = 0;             // per image: the whole encoder
  double projector = 0;          // per image

  double per_position() const { return decoder_weights + decoder_attention + gates + lm_head; }
};

ForwardFlops forward_flops(const ModelConfig& config, int64_t seq_len);

// FLOPs of one training step over `rows` sequences of `seq_len` positions holding `images`
// images, with the parameter groups (vision, projector, mixer, llm) that `trainable` marks
// true. The backward pass costs, per product, one forward's worth for the gradient of its
// input (where anything below still trains) and one for the gradient of its weight (where
// that weight trains): 3x the forward when everything trains.
double training_step_flops(const ModelConfig& config, int64_t rows, int64_t seq_len, int64_t images,
                           const std::map<std::string, bool>& trainable);

// FLOPs of a forward pass (prefill) over the same batch.
double forward_pass_flops(const ModelConfig& config, int64_t rows, int64_t seq_len, int64_t images);

}  // namespace trol
