#include "data/image_ops.h"

#include <torch/torch.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>

namespace trol {
namespace {

std::string describe_mat(const cv::Mat& m) {
  if (m.empty()) return "an empty image";
  return std::to_string(m.cols) + "x" + std::to_string(m.rows) + " image with " + std::to_string(m.channels()) +
         " channel(s) of depth " + std::to_string(m.depth());
}

void require_rgb(const cv::Mat& rgb, const char* who) {
  if (rgb.empty() || rgb.type() != CV_8UC3) {
    throw std::invalid_argument(std::string(who) + ": expected an 8-bit 3-channel RGB image, got " + describe_mat(rgb));
  }
}

constexpr uint8_t kPngSignature[8] = {137, 80, 78, 71, 13, 10, 26, 10};

uint32_t big_endian_u32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

uint32_t crc32(const uint8_t* data, size_t size) {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t n = 0; n < 256; ++n) {
      uint32_t c = n;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[n] = c;
    }
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < size; ++i) c = table[(c ^ data[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

// libpng and libjpeg print to stderr when OpenCV hands them a truncated or corrupt file, and
// no OpenCV setting stops them. The common cases are caught here first, with a clearer
// message: a PNG must reach its IEND chunk with intact critical chunks (libpng only warns
// about ancillary ones, so they are not checked); a JPEG must contain its end-of-image marker.
// Returns what is wrong, or "" (also for every other format, left to the decoder).
std::string structural_problem(const std::vector<uint8_t>& bytes) {
  const uint8_t* p = bytes.data();
  const size_t n = bytes.size();
  if (n >= 8 && std::memcmp(p, kPngSignature, 8) == 0) {
    size_t pos = 8;
    while (true) {
      if (n - pos < 12) return "truncated PNG: the data ends before the IEND chunk";
      const uint32_t length = big_endian_u32(p + pos);
      const std::string type(reinterpret_cast<const char*>(p + pos + 4), 4);
      if (length > n - pos - 12) return "truncated PNG: chunk '" + type + "' runs past the end of the data";
      const bool critical = (p[pos + 4] & 0x20) == 0;  // an upper-case first letter
      if (critical && crc32(p + pos + 4, length + 4) != big_endian_u32(p + pos + 8 + length)) {
        return "corrupt PNG: chunk '" + type + "' fails its CRC check";
      }
      if (type == "IEND") return "";
      pos += 12 + size_t(length);
    }
  }
  if (n >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF) {
    for (size_t i = n - 1; i >= 3; --i) {
      if (p[i - 1] == 0xFF && p[i] == 0xD9) return "";
    }
    return "truncated JPEG: no end-of-image marker";
  }
  return "";
}

// CPython's hash of a tuple of two small non-negative ints (tupleobject.c, CPython >= 3.8,
// 64-bit): xxHash-style lanes; hash(int) is the int itself.
uint64_t python_pair_hash(uint64_t a, uint64_t b) {
  constexpr uint64_t prime1 = 11400714785074694791ULL, prime2 = 14029467366897019727ULL,
                     prime5 = 2870177450012600261ULL;
  uint64_t acc = prime5;
  for (uint64_t lane : {a, b}) {
    acc += lane * prime2;
    acc = (acc << 31) | (acc >> 33);
    acc *= prime1;
  }
  acc += 2 ^ (prime5 ^ 3527539ULL);
  return acc == ~uint64_t(0) ? 1546275796ULL : acc;
}

// The iteration order of a CPython set built by adding keys one by one (setobject.c:
// open addressing with 9 linear probes, then perturbed jumps; the table starts at 8 slots
// and grows to 4x the used count once 3/5 full). Enough of it to replay `set(generator)`.
class PythonSetOrder {
 public:
  void add(TileGrid key) {
    const uint64_t hash = python_pair_hash(key.cols, key.rows);
    const size_t mask = slots_.size() - 1;
    size_t i = hash & mask;
    uint64_t perturb = hash;
    while (true) {
      const size_t probes = (i + kLinearProbes <= mask) ? kLinearProbes : 0;
      for (size_t k = 0; k <= probes; ++k) {
        Slot& slot = slots_[i + k];
        if (!slot.used) {
          slot = {true, hash, key};
          ++used_;
          if (used_ * 5 >= mask * 3) resize(used_ > 50000 ? used_ * 2 : used_ * 4);
          return;
        }
        if (slot.hash == hash && slot.key.cols == key.cols && slot.key.rows == key.rows) return;
      }
      perturb >>= kPerturbShift;
      i = (i * 5 + 1 + perturb) & mask;
    }
  }

  std::vector<TileGrid> in_order() const {
    std::vector<TileGrid> keys;
    for (const auto& slot : slots_) {
      if (slot.used) keys.push_back(slot.key);
    }
    return keys;
  }

 private:
  struct Slot {
    bool used = false;
    uint64_t hash = 0;
    TileGrid key{0, 0};
  };
  static constexpr size_t kLinearProbes = 9;
  static constexpr int kPerturbShift = 5;

  void resize(size_t min_used) {
    size_t size = 8;
    while (size <= min_used) size <<= 1;
    std::vector<Slot> old(size);
    old.swap(slots_);
    const size_t mask = size - 1;
    for (const auto& entry : old) {
      if (!entry.used) continue;
      size_t i = entry.hash & mask;
      uint64_t perturb = entry.hash;
      while (true) {
        const size_t probes = (i + kLinearProbes <= mask) ? kLinearProbes : 0;
        size_t k = 0;
        while (k <= probes && slots_[i + k].used) ++k;
        if (k <= probes) {
          slots_[i + k] = entry;
          break;
        }
        perturb >>= kPerturbShift;
        i = (i * 5 + 1 + perturb) & mask;
      }
    }
  }

  std::vector<Slot> slots_ = std::vector<Slot>(8);
  size_t used_ = 0;  // no deletions, so CPython's `fill` equals `used`
};

constexpr int kMaxTiles = 256;  // the candidate list grows quadratically; real models use <= 40

cv::Mat resized_cubic(const cv::Mat& image, int width, int height) {
  if (image.cols == width && image.rows == height) return image;
  cv::Mat out;
  cv::resize(image, out, cv::Size(width, height), 0, 0, cv::INTER_CUBIC);
  return out;
}

}  // namespace

cv::Mat load_rgb(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec)) throw std::runtime_error("image '" + path + "': file not found");
  if (fs::is_directory(path, ec)) throw std::runtime_error("image '" + path + "': is a directory, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("image '" + path + "': cannot open (" + std::strerror(errno) + ")");
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  in.seekg(0, std::ios::beg);
  std::vector<uint8_t> bytes(size > 0 ? size_t(size) : 0);
  if (size < 0 || !in.read(reinterpret_cast<char*>(bytes.data()), std::streamsize(bytes.size()))) {
    throw std::runtime_error("image '" + path + "': read error (" + std::strerror(errno) + ")");
  }
  return decode_rgb(bytes, path);
}

cv::Mat decode_rgb(const std::vector<uint8_t>& bytes, const std::string& what) {
  if (bytes.empty()) throw std::runtime_error("image '" + what + "': is empty (0 bytes)");
  if (const auto problem = structural_problem(bytes); !problem.empty()) {
    throw std::runtime_error("image '" + what + "': cannot decode, " + problem);
  }
  cv::Mat bgr;
  try {
    const cv::Mat buffer(1, int(bytes.size()), CV_8U, const_cast<uint8_t*>(bytes.data()));
    bgr = cv::imdecode(buffer, cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
  } catch (const cv::Exception& e) {
    throw std::runtime_error("image '" + what + "': cannot decode (" + e.err + ")");
  }
  if (bgr.empty()) {
    throw std::runtime_error("image '" + what + "': cannot decode, corrupt or not in an image format OpenCV reads");
  }
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

torch::Tensor image_to_tensor(const cv::Mat& rgb, int64_t size, const std::array<double, 3>& mean,
                              const std::array<double, 3>& std) {
  require_rgb(rgb, "image_to_tensor");
  if (size < 1 || size > 65536) {
    throw std::invalid_argument("image_to_tensor: size must be in [1, 65536], got " + std::to_string(size));
  }
  for (int c = 0; c < 3; ++c) {
    if (!(std[c] > 0)) throw std::invalid_argument("image_to_tensor: std[" + std::to_string(c) + "] must be > 0");
  }
  const cv::Mat image = resized_cubic(rgb, int(size), int(size));
  // 256 possible values per channel: normalise each once, in double, then look pixels up.
  float table[3][256];
  for (int c = 0; c < 3; ++c) {
    for (int v = 0; v < 256; ++v) table[c][v] = float((v / 255.0 - mean[c]) / std[c]);
  }
  auto out = torch::empty({3, size, size}, torch::kFloat32);
  float* dst = out.data_ptr<float>();
  const int64_t plane = size * size;
  for (int64_t y = 0; y < size; ++y) {
    const uint8_t* row = image.ptr<uint8_t>(int(y));
    for (int64_t x = 0; x < size; ++x) {
      for (int c = 0; c < 3; ++c) dst[c * plane + y * size + x] = table[c][row[3 * x + c]];
    }
  }
  return out;
}

std::vector<TileGrid> tile_grid_candidates(int min_tiles, int max_tiles) {
  if (min_tiles < 1 || max_tiles < min_tiles || max_tiles > kMaxTiles) {
    throw std::invalid_argument("tiling: need 1 <= min_tiles <= max_tiles <= " + std::to_string(kMaxTiles) +
                                ", got min_tiles " + std::to_string(min_tiles) + ", max_tiles " +
                                std::to_string(max_tiles));
  }
  // InternVL: set((i, j) for n in range(min, max + 1) for i in range(1, n + 1)
  //                for j in range(1, n + 1) if min <= i * j <= max), then a stable sort by i * j.
  PythonSetOrder set;
  for (int n = min_tiles; n <= max_tiles; ++n) {
    for (int i = 1; i <= n; ++i) {
      for (int j = 1; j <= n && i * j <= max_tiles; ++j) {
        if (i * j >= min_tiles) set.add({i, j});
      }
    }
  }
  auto candidates = set.in_order();
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const TileGrid& a, const TileGrid& b) { return a.tiles() < b.tiles(); });
  return candidates;
}

TileGrid best_tile_grid(int width, int height, int min_tiles, int max_tiles, int tile_size) {
  if (width < 1 || height < 1 || tile_size < 1) {
    throw std::invalid_argument("tiling: width, height and tile_size must be positive, got " + std::to_string(width) +
                                ", " + std::to_string(height) + ", " + std::to_string(tile_size));
  }
  const double aspect_ratio = double(width) / double(height);
  const double area = double(width) * double(height);
  double best_diff = std::numeric_limits<double>::infinity();
  TileGrid best{1, 1};
  for (const auto& grid : tile_grid_candidates(min_tiles, max_tiles)) {
    const double diff = std::abs(aspect_ratio - double(grid.cols) / double(grid.rows));
    if (diff < best_diff) {
      best_diff = diff;
      best = grid;
    } else if (diff == best_diff && area > 0.5 * tile_size * tile_size * grid.cols * grid.rows) {
      best = grid;  // same evaluation order as the Python expression, so the same rounding
    }
  }
  return best;
}

std::vector<cv::Mat> dynamic_tiles(const cv::Mat& rgb, int tile_size, int min_tiles, int max_tiles,
                                   bool use_thumbnail) {
  require_rgb(rgb, "dynamic_tiles");
  const TileGrid grid = best_tile_grid(rgb.cols, rgb.rows, min_tiles, max_tiles, tile_size);
  const cv::Mat resized = resized_cubic(rgb, grid.cols * tile_size, grid.rows * tile_size);
  std::vector<cv::Mat> tiles;
  for (int i = 0; i < grid.tiles(); ++i) {
    const cv::Rect box((i % grid.cols) * tile_size, (i / grid.cols) * tile_size, tile_size, tile_size);
    tiles.push_back(resized(box).clone());
  }
  if (use_thumbnail && tiles.size() != 1) tiles.push_back(resized_cubic(rgb, tile_size, tile_size).clone());
  return tiles;
}

int64_t tile_count(int width, int height, int64_t tile_size, const TilingOptions& tiling) {
  if (!tiling.dynamic()) return 1;
  const int tiles = best_tile_grid(width, height, tiling.min_tiles, tiling.max_tiles, int(tile_size)).tiles();
  return tiles + (tiling.thumbnail && tiles != 1 ? 1 : 0);
}

torch::Tensor image_to_tiles(const cv::Mat& rgb, int64_t tile_size, const TilingOptions& tiling,
                             const std::array<double, 3>& mean, const std::array<double, 3>& std) {
  if (!tiling.dynamic()) return image_to_tensor(rgb, tile_size, mean, std).unsqueeze(0);
  std::vector<torch::Tensor> tiles;
  for (const auto& tile : dynamic_tiles(rgb, int(tile_size), tiling.min_tiles, tiling.max_tiles, tiling.thumbnail)) {
    tiles.push_back(image_to_tensor(tile, tile_size, mean, std));
  }
  return torch::stack(tiles);
}

torch::Tensor image_to_tiles(const cv::Mat& rgb, int64_t tile_size, const DataConfig& data) {
  return image_to_tiles(rgb, tile_size, data.tiling, data.image_mean, data.image_std);
}

namespace {

// Header readers for image_file_size. Written here because OpenCV (4.6) has no call that
// reads an image's size without decoding it, and decoding every image of a large dataset
// (LLaVA's 665k) only to count its tiles would take most of an hour. Each returns the size,
// or an empty one when the bytes are not its format or the header is cut short.
cv::Size png_size(std::istream& in) {
  uint8_t h[24];
  if (!in.read(reinterpret_cast<char*>(h), 24) || std::memcmp(h, kPngSignature, 8) != 0 || std::memcmp(h + 12, "IHDR", 4) != 0) {
    return {};
  }
  return {int(big_endian_u32(h + 16)), int(big_endian_u32(h + 20))};
}

cv::Size jpeg_size(std::istream& in) {
  uint8_t h[2];
  if (!in.read(reinterpret_cast<char*>(h), 2) || h[0] != 0xFF || h[1] != 0xD8) return {};
  while (true) {
    uint8_t marker[2];
    if (!in.read(reinterpret_cast<char*>(marker), 2) || marker[0] != 0xFF) return {};
    if (marker[1] == 0xFF) {  // fill byte before a marker
      in.seekg(-1, std::ios::cur);
      continue;
    }
    if (marker[1] == 0xD8 || marker[1] == 0x01 || (marker[1] >= 0xD0 && marker[1] <= 0xD7)) continue;  // no length
    uint8_t length_bytes[2];
    if (!in.read(reinterpret_cast<char*>(length_bytes), 2)) return {};
    const int length = (length_bytes[0] << 8) | length_bytes[1];
    if (length < 2) return {};
    // Start-of-frame markers C0-CF, but C4 (Huffman tables), C8 (reserved), CC (arithmetic coding).
    if (marker[1] >= 0xC0 && marker[1] <= 0xCF && marker[1] != 0xC4 && marker[1] != 0xC8 && marker[1] != 0xCC) {
      uint8_t frame[5];
      if (!in.read(reinterpret_cast<char*>(frame), 5)) return {};
      return {(frame[3] << 8) | frame[4], (frame[1] << 8) | frame[2]};
    }
    in.seekg(length - 2, std::ios::cur);
  }
}

cv::Size gif_size(std::istream& in) {
  uint8_t h[10];
  if (!in.read(reinterpret_cast<char*>(h), 10) || std::memcmp(h, "GIF8", 4) != 0) return {};
  return {h[6] | (h[7] << 8), h[8] | (h[9] << 8)};
}

cv::Size bmp_size(std::istream& in) {
  uint8_t h[26];
  if (!in.read(reinterpret_cast<char*>(h), 26) || h[0] != 'B' || h[1] != 'M') return {};
  const auto little_i32 = [](const uint8_t* p) { return int32_t(uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24); };
  if (little_i32(h + 14) < 40) return {};  // an old OS/2 header: let the decoder read it
  return {std::abs(little_i32(h + 18)), std::abs(little_i32(h + 22))};  // negative height: top-down rows
}

}  // namespace

cv::Size image_file_size(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (in) {
    for (auto* reader : {png_size, jpeg_size, gif_size, bmp_size}) {
      in.clear();
      in.seekg(0);
      const cv::Size size = reader(in);
      if (size.width > 0 && size.height > 0) return size;
    }
  }
  const cv::Mat rgb = load_rgb(path);  // any other format, and the errors of a bad file
  return rgb.size();
}

}  // namespace trol
