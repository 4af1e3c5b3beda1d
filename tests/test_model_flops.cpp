// The FLOP counter on a model small enough to count by hand. (scripts/reference/check_step.py,
// run by the reference.* tests, checks it against PyTorch's profiler on real models.)
#include "tests/catch.h"

#include "trol/model_flops.h"

namespace test_model_flops {

using namespace trol;

namespace {

ModelConfig hand_countable(bool traversal) {
  ModelConfig c;
  c.llm.hidden_size = 8;
  c.llm.num_layers = 1;
  c.llm.num_heads = 2;  // head_dim 4: queries 8 wide, keys and values 4 each
  c.llm.num_kv_heads = 1;
  c.llm.intermediate_size = 16;
  c.llm.vocab_size = 10;
  c.trol.traversal = traversal;
  c.vision.enabled = false;
  return c;
}

}  // namespace

TEST_CASE("forward FLOPs per position, counted by hand", "[flops]") {
  // qkv 8x16, o 8x8, gate_up 8x32, down 16x8: 2 * (128 + 64 + 384) = 1152 per pass;
  // scores and weighted values over 4 keys: 2 * 2 * 4 * 8 = 128; LM head 2 * 8 * 10 = 160.
  const auto plain = forward_flops(hand_countable(false), 4);
  CHECK(plain.decoder_weights == 1152);
  CHECK(plain.decoder_attention == 128);
  CHECK(plain.gates == 0);
  CHECK(plain.lm_head == 160);
  CHECK(plain.per_position() == 1440);

  // TroL: the layer runs twice, and its gate adds 2 * 8.
  const auto traversed = forward_flops(hand_countable(true), 4);
  CHECK(traversed.decoder_weights == 2304);
  CHECK(traversed.decoder_attention == 256);
  CHECK(traversed.gates == 16);
  CHECK(traversed.per_position() == 2736);
}

TEST_CASE("a training step costs 3x the forward when everything trains, less when frozen", "[flops]") {
  const auto config = hand_countable(true);
  const double forward = forward_pass_flops(config, 1, 4, 0);
  CHECK(forward == 4 * 2736);
  // Input gradients of every product and weight gradients of every weight: 3x, except that
  // attention's two products have no weights but two inputs each (still 3x in total).
  CHECK(training_step_flops(config, 1, 4, 0, {{"llm", true}, {"mixer", true}}) == 3 * forward);
  // Gates alone: the gradient still flows back through every product to the gates (attention's
  // two products twice each: 2 * 256), but only the gates' weight gradients are added.
  CHECK(training_step_flops(config, 1, 4, 0, {{"llm", false}, {"mixer", true}}) == 2 * forward + 4 * (256 + 16));
  CHECK(training_step_flops(config, 1, 4, 0, {}) == forward);
}

}  // namespace test_model_flops
