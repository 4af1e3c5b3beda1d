// The vision side: position interpolation, pixel shuffle, hidden-state selection, projector.
#include "tests/catch.h"

#include <map>

#include "test_helpers.h"
#include "trol/projector.h"
#include "trol/vision_encoder.h"

namespace test_vision {

using namespace trol;

TEST_CASE("position interpolation returns the original table when the grid is unchanged", "[vision]") {
  torch::manual_seed(31);
  const auto table = torch::randn({1 + 6 * 6, 5});
  CHECK(torch::allclose(interpolate_positions(table, 6), table, 1e-6, 1e-6));
}

TEST_CASE("position interpolation keeps the class position and reproduces constant and smooth grids", "[vision]") {
  torch::manual_seed(32);
  auto table = torch::randn({1 + 4 * 4, 3});
  table.narrow(0, 1, 16).fill_(2.5);
  const auto resized = interpolate_positions(table, 7);
  REQUIRE(resized.sizes() == torch::IntArrayRef({1 + 7 * 7, 3}));
  CHECK(torch::equal(resized[0], table[0]));
  // Bicubic weights sum to one: a constant grid stays constant at any size.
  CHECK(torch::allclose(resized.narrow(0, 1, 49), torch::full({49, 3}, 2.5), 1e-5, 1e-5));
  CHECK_THROWS_WITH(interpolate_positions(torch::zeros({1 + 15, 3}), 4), ContainsSubstring("not 1 + a square grid"));
}

TEST_CASE("pixel shuffle matches InternVL's index mapping", "[vision]") {
  // out[a2, b2, m] = in[2 a2 + m / 2c, 2 b2 + (m % 2c) / c, m % c] for a g x g grid of c channels,
  // derived by hand from InternVL's view/permute sequence (ps_version v2).
  const int64_t n = 2, g = 4, c = 3;
  const auto tokens = torch::arange(n * g * g * c, torch::kFloat32).reshape({n, g * g, c});
  const auto shuffled = pixel_shuffle(tokens);
  REQUIRE(shuffled.sizes() == torch::IntArrayRef({n, (g / 2) * (g / 2), 4 * c}));
  const auto grid = tokens.reshape({n, g, g, c});
  for (int64_t i = 0; i < n; ++i)
    for (int64_t a2 = 0; a2 < g / 2; ++a2)
      for (int64_t b2 = 0; b2 < g / 2; ++b2)
        for (int64_t m = 0; m < 4 * c; ++m) {
          const auto expected = grid[i][2 * a2 + m / (2 * c)][2 * b2 + (m % (2 * c)) / c][m % c].item<float>();
          REQUIRE(shuffled[i][a2 * (g / 2) + b2][m].item<float>() == expected);
        }
}

TEST_CASE("the vision encoder selects the configured hidden state", "[vision]") {
  auto config = test::tiny_config().vision;
  config.num_layers = 3;
  torch::manual_seed(33);
  const auto pixels = torch::randn({2, 3, config.image_size, config.image_size});

  config.select_layer = -1;
  config.drop_class_token = false;
  VisionEncoder full(config);
  test::randomize_parameters(*full, 34);
  torch::NoGradGuard no_grad;
  const auto last = full->forward(pixels);
  CHECK(last.sizes() == torch::IntArrayRef({2, 1 + config.grid_size() * config.grid_size(), config.hidden_size}));

  // Penultimate layer without class token == two blocks run by hand.
  config.select_layer = -2;
  config.drop_class_token = true;
  VisionEncoder penultimate(config);
  test::copy_parameters(*full, *penultimate);
  const auto selected = penultimate->forward(pixels);
  auto h = full->embed(pixels);
  for (int i = 0; i < 2; ++i) h = full->block(i, h);
  CHECK(torch::allclose(selected, h.narrow(1, 1, h.size(1) - 1), 1e-6, 1e-6));

  CHECK_THROWS_WITH(full->forward(torch::zeros({1, 3, 5, 5})), ContainsSubstring("vision encoder expects pixels"));
}

TEST_CASE("an InternViT encoder has InternVL's parameter names and shapes", "[vision]") {
  auto config = test::tiny_config().vision;
  config.architecture = "internvit";
  config.num_layers = 1;
  VisionEncoder encoder(config);
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& p : encoder->named_parameters()) shapes[p.key()] = p.value().sizes().vec();
  const int64_t d = config.hidden_size, positions = config.grid_size() * config.grid_size() + 1;
  const std::map<std::string, std::vector<int64_t>> expected{
      {"embeddings.class_embedding", {1, 1, d}},
      {"embeddings.patch_embedding.weight", {d, 3, config.patch_size, config.patch_size}},
      {"embeddings.patch_embedding.bias", {d}},
      {"embeddings.position_embedding", {1, positions, d}},
      {"encoder.layers.0.attn.qkv.weight", {3 * d, d}},
      {"encoder.layers.0.attn.qkv.bias", {3 * d}},
      {"encoder.layers.0.attn.proj.weight", {d, d}},
      {"encoder.layers.0.attn.proj.bias", {d}},
      {"encoder.layers.0.mlp.fc1.weight", {config.intermediate_size, d}},
      {"encoder.layers.0.mlp.fc1.bias", {config.intermediate_size}},
      {"encoder.layers.0.mlp.fc2.weight", {d, config.intermediate_size}},
      {"encoder.layers.0.mlp.fc2.bias", {d}},
      {"encoder.layers.0.norm1.weight", {d}},
      {"encoder.layers.0.norm1.bias", {d}},
      {"encoder.layers.0.norm2.weight", {d}},
      {"encoder.layers.0.norm2.bias", {d}},
      {"encoder.layers.0.ls1", {d}},
      {"encoder.layers.0.ls2", {d}}};
  CHECK(shapes == expected);

  // With the layer scales at zero every block is the identity: the output is the embeddings.
  torch::NoGradGuard no_grad;
  for (auto& p : encoder->named_parameters()) {
    if (p.key().find(".ls") != std::string::npos) p.value().zero_();
  }
  const auto pixels = torch::randn({2, 3, config.image_size, config.image_size});
  CHECK(torch::allclose(encoder->forward(pixels), encoder->embed(pixels).narrow(1, 1, positions - 1)));
}

TEST_CASE("image tokens per image follow the released models' geometry", "[vision]") {
  VisionConfig clip;  // TroL-1.8B/7B: CLIP ViT-L/14 run at 490 px
  clip.image_size = 490;
  clip.pretrained_image_size = 336;
  clip.patch_size = 14;
  CHECK(clip.grid_size() == 35);
  CHECK(clip.pretrained_grid_size() == 24);
  CHECK(clip.tokens_per_image() == 1225);

  VisionConfig intern;  // TroL-3.8B: InternViT-300M-448px with pixel shuffle 0.5
  intern.image_size = 448;
  intern.patch_size = 14;
  intern.hidden_size = 1024;
  intern.downsample_ratio = 0.5;
  CHECK(intern.tokens_per_image() == 256);
  CHECK(intern.feature_size() == 4096);
}

TEST_CASE("projectors have the released layouts", "[vision]") {
  auto config = test::tiny_config();
  auto mlp = make_projector(config);
  auto names = mlp->named_parameters().keys();
  CHECK(names == std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"});
  config.projector.type = "ln_mlp2x_gelu";
  auto ln = make_projector(config);
  names = ln->named_parameters().keys();
  CHECK(names == std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias", "3.weight", "3.bias"});
  const auto out = ln->forward(torch::randn({2, 3, config.vision.feature_size()}));
  CHECK(out.sizes() == torch::IntArrayRef({2, 3, config.llm.hidden_size}));
}

}  // namespace test_vision
