// The image pipeline: decoding to RGB, normalisation, InternVL's dynamic tiling.
#include "tests/catch.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "data/image_ops.h"
#include "tokenizer_fixture.h"

namespace test_image_ops {

using namespace trol;
using test::TempDir;
namespace fs = std::filesystem;

namespace {

// What `action` writes to the process's stderr (file descriptor 2, where libpng prints).
template <class Action>
std::string captured_stderr(Action action) {
  const fs::path file = fs::temp_directory_path() / ("trol_test_stderr_" + std::to_string(::getpid()));
  std::fflush(stderr);
  const int saved = ::dup(2);
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ::dup2(fd, 2);
  ::close(fd);
  action();
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  fs::remove(file);
  return text.str();
}

cv::Mat random_rgb(int width, int height, uint64_t seed) {
  cv::Mat image(height, width, CV_8UC3);
  cv::RNG rng(seed);
  rng.fill(image, cv::RNG::UNIFORM, 0, 256);
  return image;
}

std::vector<std::pair<int, int>> as_pairs(const std::vector<TileGrid>& grids) {
  std::vector<std::pair<int, int>> out;
  for (const auto& g : grids) out.push_back({g.cols, g.rows});
  return out;
}

}  // namespace

TEST_CASE("tile candidates come in InternVL's order, hash order within a tile count", "[image]") {
  // Printed by Python 3.11: sorted(set((i, j) for n in range(lo, hi + 1) for i in range(1, n + 1)
  // for j in range(1, n + 1) if lo <= i * j <= hi), key=lambda x: x[0] * x[1]).
  using P = std::vector<std::pair<int, int>>;
  CHECK(as_pairs(tile_grid_candidates(1, 6)) ==
        P{{1, 1}, {1, 2}, {2, 1}, {3, 1}, {1, 3}, {4, 1}, {1, 4}, {2, 2}, {1, 5}, {5, 1}, {6, 1}, {2, 3}, {1, 6}, {3, 2}});
  CHECK(as_pairs(tile_grid_candidates(1, 12)) ==
        P{{1, 1},  {1, 2}, {2, 1}, {3, 1}, {1, 3}, {2, 2},  {4, 1},  {1, 4},  {5, 1},  {1, 5},  {1, 6},  {6, 1},
          {3, 2},  {2, 3}, {7, 1}, {1, 7}, {4, 2}, {2, 4},  {1, 8},  {8, 1},  {1, 9},  {3, 3},  {9, 1},  {2, 5},
          {5, 2},  {10, 1}, {1, 10}, {11, 1}, {1, 11}, {12, 1}, {3, 4}, {4, 3}, {1, 12}, {6, 2}, {2, 6}});
  CHECK(as_pairs(tile_grid_candidates(2, 6)) ==
        P{{1, 2}, {2, 1}, {3, 1}, {1, 3}, {4, 1}, {1, 4}, {2, 2}, {1, 5}, {5, 1}, {6, 1}, {2, 3}, {1, 6}, {3, 2}});
  CHECK(as_pairs(tile_grid_candidates(4, 4)) == P{{4, 1}, {1, 4}, {2, 2}});
  CHECK_THROWS_AS(tile_grid_candidates(0, 6), std::invalid_argument);
  CHECK_THROWS_AS(tile_grid_candidates(5, 4), std::invalid_argument);
}

TEST_CASE("the tile grid follows InternVL's closest-aspect-ratio rule and its tie-break", "[image]") {
  auto grid = [](int w, int h, int lo, int hi, int tile) {
    const auto g = best_tile_grid(w, h, lo, hi, tile);
    return std::make_pair(g.cols, g.rows);
  };
  using G = std::pair<int, int>;
  // Square, 1-6 tiles of 448: (1,1) matches exactly (difference 0) and comes first. (2,2),
  // later, ties at 0 and replaces it only if area > 0.5 * 448^2 * 4 = 401408:
  // 448x448 (area 200704) keeps 1x1, 1000x1000 (area 1e6) takes 2x2. (3,3) is over 6 tiles.
  CHECK(grid(448, 448, 1, 6, 448) == G{1, 1});
  CHECK(grid(1000, 1000, 1, 6, 448) == G{2, 2});
  // 2:1: (2,1) matches exactly. With 12 tiles (4,2) ties later; 896x448 (area 401408) is not
  // above 0.5 * 448^2 * 8 = 802816, so 2x1 stays; 2000x1000 (area 2e6) takes 4x2.
  CHECK(grid(896, 448, 1, 6, 448) == G{2, 1});
  CHECK(grid(896, 448, 1, 12, 448) == G{2, 1});
  CHECK(grid(2000, 1000, 1, 12, 448) == G{4, 2});
  // 1:3: 300/900 and 1/3 are the same double, so (1,3) matches exactly: one column, 3 rows.
  CHECK(grid(300, 900, 1, 6, 448) == G{1, 3});
  // Tiny 10x7 (ratio 1.4286): (1,1) differs by 0.4286, (2,2) ties it but area 70 is far below
  // 401408, (3,2) = 1.5 differs by only 0.0714 and wins: InternVL blows a tiny image up to 6 tiles.
  CHECK(grid(10, 7, 1, 6, 448) == G{3, 2});
  // Tiny square 20x20: (1,1) exact; the (2,2) tie needs area > 401408.
  CHECK(grid(20, 20, 1, 6, 448) == G{1, 1});
  // Very wide 1000x50 (ratio 20): the widest candidate, (6,1) (difference 14), or (12,1) with 12 tiles.
  CHECK(grid(1000, 50, 1, 6, 448) == G{6, 1});
  CHECK(grid(5000, 100, 1, 12, 448) == G{12, 1});
  // Exactly 4 tiles, 5x2 (ratio 2.5): candidates (4,1), (1,4), (2,2) in that (hash) order;
  // (4,1) and (2,2) both differ by 1.5 and area 10 is too small to replace (4,1). In
  // column-major order (2,2) would have come first and won: the order matters.
  CHECK(grid(5, 2, 4, 4, 448) == G{4, 1});
  CHECK_THROWS_AS(best_tile_grid(0, 10, 1, 6, 448), std::invalid_argument);
}

TEST_CASE("dynamic tiles are row-major crops of the resized image, plus a thumbnail", "[image]") {
  const int tile = 8;
  const cv::Mat image = random_rgb(30, 21, 7);  // ratio 1.4286 -> 3 columns x 2 rows (see above)
  const auto tiles = dynamic_tiles(image, tile, 1, 6, /*use_thumbnail=*/true);
  REQUIRE(tiles.size() == 7);
  CHECK(dynamic_tiles(image, tile, 1, 6, false).size() == 6);
  cv::Mat resized, thumbnail;
  cv::resize(image, resized, cv::Size(3 * tile, 2 * tile), 0, 0, cv::INTER_CUBIC);
  for (int i = 0; i < 6; ++i) {
    INFO("tile " << i);
    const cv::Mat expected = resized(cv::Rect((i % 3) * tile, (i / 3) * tile, tile, tile));
    REQUIRE(tiles[size_t(i)].size() == cv::Size(tile, tile));
    CHECK(cv::norm(tiles[size_t(i)], expected, cv::NORM_INF) == 0);
  }
  cv::resize(image, thumbnail, cv::Size(tile, tile), 0, 0, cv::INTER_CUBIC);
  CHECK(cv::norm(tiles[6], thumbnail, cv::NORM_INF) == 0);

  // One tile: no thumbnail even when asked for (InternVL adds it only to several tiles).
  CHECK(dynamic_tiles(random_rgb(tile, tile, 3), tile, 1, 6, true).size() == 1);
  CHECK(dynamic_tiles(random_rgb(2 * tile, tile, 3), tile, 1, 6, true).size() == 3);
}

TEST_CASE("images load as RGB", "[image]") {
  TempDir dir("image_load");
  // OpenCV writes BGR: (0, 0, 255) is pure red.
  const cv::Mat red_bgr(6, 9, CV_8UC3, cv::Scalar(0, 0, 255));
  const std::string red_path = (dir.path() / "red.png").string();
  REQUIRE(cv::imwrite(red_path, red_bgr));
  const cv::Mat red = load_rgb(red_path);
  REQUIRE(red.type() == CV_8UC3);
  CHECK(red.size() == cv::Size(9, 6));
  CHECK(red.at<cv::Vec3b>(3, 4) == cv::Vec3b(255, 0, 0));
  const auto tensor = image_to_tensor(red, 4, {0.5, 0.5, 0.5}, {0.5, 0.5, 0.5});
  CHECK(tensor[0].min().item<float>() == 1.0f);  // (255/255 - 0.5) / 0.5
  CHECK(tensor[1].max().item<float>() == -1.0f);
  CHECK(tensor[2].max().item<float>() == -1.0f);

  // Grey and BGRA files become 3-channel RGB.
  const std::string grey_path = (dir.path() / "grey.png").string();
  REQUIRE(cv::imwrite(grey_path, cv::Mat(5, 5, CV_8UC1, cv::Scalar(77))));
  CHECK(load_rgb(grey_path).at<cv::Vec3b>(2, 2) == cv::Vec3b(77, 77, 77));
  const std::string bgra_path = (dir.path() / "bgra.png").string();
  REQUIRE(cv::imwrite(bgra_path, cv::Mat(5, 5, CV_8UC4, cv::Scalar(10, 20, 30, 40))));
  CHECK(load_rgb(bgra_path).at<cv::Vec3b>(1, 1) == cv::Vec3b(30, 20, 10));

  // Bytes in memory, as from a base64 TSV field.
  std::vector<uint8_t> png;
  REQUIRE(cv::imencode(".png", red_bgr, png));
  CHECK(decode_rgb(png, "row 3").at<cv::Vec3b>(0, 0) == cv::Vec3b(255, 0, 0));
}

TEST_CASE("missing, corrupt and truncated images are errors that name the file, and print nothing", "[image]") {
  TempDir dir("image_bad");
  const std::string missing = (dir.path() / "missing.png").string();
  CHECK_THROWS_WITH(load_rgb(missing), ContainsSubstring(missing) && ContainsSubstring("not found"));

  const std::string junk = (dir.path() / "junk.png").string();
  {
    std::mt19937 bytes(5);
    std::ofstream out(junk, std::ios::binary);
    for (int i = 0; i < 4096; ++i) out.put(char(bytes() & 0xFF));
  }
  std::vector<uint8_t> png;
  REQUIRE(cv::imencode(".png", random_rgb(32, 32, 1), png));
  const std::string truncated = (dir.path() / "truncated.png").string();
  std::ofstream(truncated, std::ios::binary).write(reinterpret_cast<const char*>(png.data()), std::streamsize(png.size() / 2));
  auto flipped = png;
  flipped[png.size() / 2] ^= 0x5A;  // inside the image data: libpng would print "incorrect data check"
  const std::string corrupt = (dir.path() / "corrupt.png").string();
  std::ofstream(corrupt, std::ios::binary).write(reinterpret_cast<const char*>(flipped.data()), std::streamsize(flipped.size()));
  const std::string empty = (dir.path() / "empty.png").string();
  std::ofstream(empty, std::ios::binary).close();
  std::vector<uint8_t> jpeg;
  REQUIRE(cv::imencode(".jpg", random_rgb(32, 32, 2), jpeg));
  const std::string good_jpeg = (dir.path() / "good.jpg").string();
  std::ofstream(good_jpeg, std::ios::binary).write(reinterpret_cast<const char*>(jpeg.data()), std::streamsize(jpeg.size()));
  const std::string cut_jpeg = (dir.path() / "cut.jpg").string();  // libjpeg would warn "Premature end of JPEG file"
  std::ofstream(cut_jpeg, std::ios::binary).write(reinterpret_cast<const char*>(jpeg.data()), std::streamsize(jpeg.size() - 300));

  const std::string printed = captured_stderr([&] {
    CHECK_THROWS_WITH(load_rgb(junk), ContainsSubstring(junk) && ContainsSubstring("cannot decode"));
    CHECK_THROWS_WITH(load_rgb(truncated), ContainsSubstring(truncated) && ContainsSubstring("truncated PNG"));
    CHECK_THROWS_WITH(load_rgb(corrupt), ContainsSubstring(corrupt) && ContainsSubstring("CRC"));
    CHECK_THROWS_WITH(load_rgb(empty), ContainsSubstring(empty) && ContainsSubstring("empty"));
    CHECK(load_rgb(good_jpeg).size() == cv::Size(32, 32));
    CHECK_THROWS_WITH(load_rgb(cut_jpeg), ContainsSubstring(cut_jpeg) && ContainsSubstring("truncated JPEG"));
    CHECK_THROWS_WITH(load_rgb(dir.path().string()), ContainsSubstring("is a directory"));
    CHECK_THROWS_WITH(decode_rgb({1, 2, 3}, "mmbench.tsv row 12"), ContainsSubstring("mmbench.tsv row 12"));
  });
  CHECK(printed.empty());
}

TEST_CASE("normalisation gives exactly (v / 255 - mean) / std per channel, in RGB order", "[image]") {
  const std::array<double, 3> mean{0.485, 0.456, 0.406}, std{0.229, 0.224, 0.225};  // ImageNet's
  const std::array<int, 3> rgb{10, 128, 250};
  const cv::Mat constant(7, 5, CV_8UC3, cv::Scalar(rgb[0], rgb[1], rgb[2]));
  for (int64_t size : {7, 12}) {  // 7x5 is resized in both cases (bicubic keeps a constant image constant)
    const auto t = image_to_tensor(constant, size, mean, std);
    REQUIRE(t.sizes() == torch::IntArrayRef({3, size, size}));
    CHECK(t.dtype() == torch::kFloat32);
    for (int c = 0; c < 3; ++c) {
      const float expected = float((rgb[size_t(c)] / 255.0 - mean[size_t(c)]) / std[size_t(c)]);
      CHECK(t[c].min().item<float>() == expected);
      CHECK(t[c].max().item<float>() == expected);
    }
  }
  // Already the right size: no resampling, every pixel maps on its own.
  const cv::Mat image = random_rgb(4, 4, 11);
  const auto t = image_to_tensor(image, 4, {0, 0, 0}, {1, 1, 1});
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 4; ++x) {
      for (int c = 0; c < 3; ++c) CHECK(t[c][y][x].item<float>() == float(image.at<cv::Vec3b>(y, x)[c] / 255.0));
    }
  }
  CHECK_THROWS_AS(image_to_tensor(cv::Mat(4, 4, CV_8UC1), 4, mean, std), std::invalid_argument);
  CHECK_THROWS_AS(image_to_tensor(constant, 4, mean, {0.2, 0.0, 0.2}), std::invalid_argument);
}

TEST_CASE("tile_count and image_to_tiles agree with dynamic_tiles, one tile when tiling is off", "[image]") {
  const TilingOptions off;
  const TilingOptions internvl{1, 6, true}, bare{1, 6, false}, at_least_two{2, 6, true};
  for (const auto& [w, h] : std::vector<std::pair<int, int>>{{40, 40}, {100, 30}, {30, 100}, {70, 50}, {8, 200}, {96, 96}}) {
    const auto rgb = random_rgb(w, h, uint64_t(w * 1000 + h));
    CHECK(tile_count(w, h, 32, off) == 1);
    for (const auto& tiling : {internvl, bare, at_least_two}) {
      const auto tiles = dynamic_tiles(rgb, 32, tiling.min_tiles, tiling.max_tiles, tiling.thumbnail);
      CHECK(tile_count(w, h, 32, tiling) == int64_t(tiles.size()));
      const auto tensor = image_to_tiles(rgb, 32, tiling, {0.5, 0.4, 0.3}, {0.2, 0.25, 0.3});
      REQUIRE(tensor.sizes() == torch::IntArrayRef({int64_t(tiles.size()), 3, 32, 32}));
      for (size_t k = 0; k < tiles.size(); ++k) {
        CHECK(torch::equal(tensor[int64_t(k)], image_to_tensor(tiles[k], 32, {0.5, 0.4, 0.3}, {0.2, 0.25, 0.3})));
      }
    }
    CHECK(torch::equal(image_to_tiles(rgb, 32, off, {0.5, 0.5, 0.5}, {0.5, 0.5, 0.5})[0],
                       image_to_tensor(rgb, 32, {0.5, 0.5, 0.5}, {0.5, 0.5, 0.5})));
  }
  // A 3:1 image: a 3 x 1 grid and the thumbnail; a square one below half a tile's area: one tile.
  CHECK(tile_count(300, 100, 100, internvl) == 4);
  CHECK(tile_count(60, 60, 100, internvl) == 1);
}

TEST_CASE("image_file_size reads the header's size, decoding only formats it does not parse", "[image]") {
  TempDir dir("file_size");
  const auto rgb = random_rgb(37, 21, 5);
  std::vector<std::string> files{dir.file("a.png"), dir.file("b.jpg"), dir.file("c.bmp")};
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  for (const auto& file : files) REQUIRE(cv::imwrite(file, bgr));
  // A progressive JPEG (its frame header is SOF2) behind an APP1 segment.
  files.push_back(dir.file("d.jpg"));
  REQUIRE(cv::imwrite(files.back(), bgr, {cv::IMWRITE_JPEG_PROGRESSIVE, 1}));
  {
    std::ifstream in(files.back(), std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string app1 = std::string("\xFF\xE1\x00\x10", 4) + "Exif" + std::string(10, '\0');
    bytes.insert(bytes.begin() + 2, app1.begin(), app1.end());
    std::ofstream(files.back(), std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
  }
  // GIF (OpenCV 4.6 writes none): the logical screen size, little-endian.
  files.push_back(dir.write("e.gif", std::string("GIF89a\x25\x00\x15\x00", 10)));
  if (cv::haveImageWriter(".tiff")) {  // no header reader: decoded
    files.push_back(dir.file("f.tiff"));
    REQUIRE(cv::imwrite(files.back(), bgr));
  }
  for (const auto& file : files) {
    INFO(file);
    CHECK(image_file_size(file) == cv::Size(37, 21));
    if (file.find(".gif") == std::string::npos) CHECK(load_rgb(file).size() == cv::Size(37, 21));
  }
  CHECK_THROWS_WITH(image_file_size(dir.file("missing.png")), ContainsSubstring("missing.png': file not found"));
  CHECK_THROWS_WITH(image_file_size(dir.write("junk.png", "not an image")), ContainsSubstring("junk.png"));
}

}  // namespace test_image_ops
