// TroL traversal and mixing against independent computations:
//   gates at w = 0  == the plain decoder (traversal off)
//   gates at w = 1  == each layer applied twice == a plain decoder of twice the depth
//   free gates      == (1 - w) h1 + w h2 computed by hand, layer by layer
#include "tests/catch.h"

#include "test_helpers.h"
#include "trol/rotary.h"
#include "trol/attention.h"
#include "trol/trol_mixer.h"

namespace test_trol_mixer {

using namespace trol;

namespace {

ModelConfig text_config(bool traversal, const std::string& family = "phi3") {
  auto c = test::tiny_config(family);
  c.vision.enabled = false;
  c.trol.traversal = traversal;
  return c;
}

torch::Tensor sample_ids() {
  torch::manual_seed(7);
  return torch::randint(0, 36, {2, 9}, torch::kLong);
}

}  // namespace

TEST_CASE("trol_gate_ratio and trol_mix follow the paper's formulas", "[mixer]") {
  torch::manual_seed(1);
  torch::nn::Linear gate(6, 1);
  const auto h1 = torch::randn({2, 5, 6});
  const auto h2 = torch::randn({2, 5, 6});
  const auto w = trol_gate_ratio(gate, h1);
  const auto expected_w = 0.5 * torch::tanh(torch::matmul(h1, gate->weight.t()) + gate->bias) + 0.5;
  CHECK(torch::allclose(w, expected_w, 1e-6, 1e-6));
  CHECK(w.min().item<double>() >= 0.0);
  CHECK(w.max().item<double>() <= 1.0);
  const auto mixed = trol_mix(h1, h2, w);
  CHECK(torch::allclose(mixed, (1 - w) * h1 + w * h2, 1e-6, 1e-6));
}

TEST_CASE("gates at w = 0 give exactly the plain decoder", "[mixer]") {
  for (const std::string family : {"phi3", "internlm2"}) {
    TrolModel trol(text_config(true, family));
    TrolModel plain(text_config(false, family));
    test::randomize_parameters(*trol, 3);
    test::force_gates(trol, -1e4);
    test::copy_parameters(*trol, *plain);
    torch::NoGradGuard no_grad;
    const auto ids = sample_ids();
    const auto a = trol->forward(test::text_only(ids)).logits;
    const auto b = plain->forward(test::text_only(ids)).logits;
    INFO(family);
    CHECK(torch::equal(a, b));
  }
}

TEST_CASE("gates at w = 1 equal each layer applied twice", "[mixer]") {
  // The independent computation: a plain decoder with twice the layers, where layers 2i and
  // 2i+1 are copies of TroL layer i.
  auto doubled_config = text_config(false);
  doubled_config.llm.num_layers *= 2;
  TrolModel trol(text_config(true));
  TrolModel doubled(doubled_config);
  test::randomize_parameters(*trol, 4);
  test::force_gates(trol, 1e4);
  {
    torch::NoGradGuard no_grad;
    auto target = doubled->named_parameters();
    for (const auto& p : trol->named_parameters()) {
      const std::string prefix = "model.layers.";
      if (p.key().rfind(prefix, 0) != 0) {
        if (target.contains(p.key())) target[p.key()].copy_(p.value());
        continue;
      }
      const auto dot = p.key().find('.', prefix.size());
      const int layer = std::stoi(p.key().substr(prefix.size(), dot - prefix.size()));
      const auto rest = p.key().substr(dot);
      target[prefix + std::to_string(2 * layer) + rest].copy_(p.value());
      target[prefix + std::to_string(2 * layer + 1) + rest].copy_(p.value());
    }
  }
  torch::NoGradGuard no_grad;
  const auto ids = sample_ids();
  const auto a = trol->forward(test::text_only(ids), /*collect_gate_ratios=*/true);
  const auto b = doubled->forward(test::text_only(ids)).logits;
  CHECK(torch::allclose(a.logits, b, 1e-5, 1e-5));
  CHECK(torch::equal(a.gate_ratios, torch::ones_like(a.gate_ratios)));
}

TEST_CASE("mixing ratios are reported per layer and token, only when asked, and match a layer-by-layer recomputation",
          "[mixer]") {
  TrolModel model(text_config(true));
  test::randomize_parameters(*model, 5);
  torch::NoGradGuard no_grad;
  const auto ids = sample_ids();
  const auto mask = torch::ones_like(ids);
  CHECK_FALSE(model->forward(test::text_only(ids)).gate_ratios.defined());
  const auto out = model->forward(test::text_only(ids), true);
  REQUIRE(out.gate_ratios.sizes() == torch::IntArrayRef({2, 2, 9}));

  // Recompute with the layer modules but our own loop and formulas.
  auto& decoder = model->model;
  const auto& llm = model->config().llm;
  const auto rotary = rotary_tables(positions_from_mask(mask), llm.head_dim(), llm.rope_theta, torch::kFloat32);
  const auto additive = causal_padding_mask(mask, torch::kFloat32);
  auto h = decoder->embed(ids);
  for (int64_t i = 0; i < llm.num_layers; ++i) {
    auto layer = decoder->layers->ptr<DecoderLayerImpl>(i);
    const auto h1 = layer->forward(h, rotary, additive);
    const auto h2 = layer->forward(h1, rotary, additive);
    auto& gate = decoder->gates[i];
    const auto w = 0.5 * torch::tanh(torch::matmul(h1, gate->weight.t()) + gate->bias) + 0.5;
    CHECK(torch::allclose(out.gate_ratios[i], w.squeeze(-1), 1e-6, 1e-6));
    h = (1 - w) * h1 + w * h2;
  }
  const auto logits = torch::matmul(decoder->norm(h), model->lm_head->weight.t());
  CHECK(torch::allclose(out.logits, logits, 1e-5, 1e-5));
}

TEST_CASE("per-layer gates have num_layers x (hidden + 1) parameters, the shared variant one gate", "[mixer]") {
  auto c = text_config(true);
  TrolModel per_layer(c);
  c.trol.shared_gate = true;
  TrolModel shared(c);
  auto count = [](TrolModel& m) {
    int64_t n = 0;
    for (const auto& p : m->named_parameters()) {
      if (p.key().find("trol_gating.") != std::string::npos) n += p.value().numel();
    }
    return n;
  };
  CHECK(count(per_layer) == c.llm.num_layers * (c.llm.hidden_size + 1));
  CHECK(count(shared) == c.llm.hidden_size + 1);
  CHECK(per_layer->named_parameters().contains("model.trol_gating.1.weight"));
  // With one shared gate, every layer reads the same module.
  CHECK(shared->model->gate(0).get() == shared->model->gate(1).get());
}

}  // namespace test_trol_mixer
