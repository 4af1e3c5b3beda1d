// Images from bytes on disk to normalised model input, through OpenCV.
//
// Everything here works on 8-bit RGB images (cv::Mat CV_8UC3, channel 0 = red), the layout
// PIL's convert('RGB') gives the Python reference code; OpenCV's own BGR order never leaves
// this file. Resizing is bicubic, as in CLIP's and InternVL's preprocessing. Note that PIL's
// bicubic antialiases when it shrinks and OpenCV's does not, so pixels of downscaled images
// differ slightly from the Python pipeline (sizes, tiling and normalisation are identical).
#pragma once

#include <opencv2/core/mat.hpp>
#include <torch/types.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "data/data_config.h"

namespace trol {

// Reads and decodes an image file (any format OpenCV's imgcodecs reads: PNG, JPEG, BMP, ...)
// into RGB. Grey images are expanded to three channels and an alpha channel is dropped
// without compositing (what PIL's convert('RGB') does); 16-bit images are scaled to 8 bits;
// EXIF orientation is ignored, as PIL ignores it. Throws std::runtime_error naming the file
// and the problem when it is missing or unreadable, empty, truncated, corrupt, or in no format
// OpenCV knows. Truncated PNG and JPEG files and PNG files with damaged chunks are caught
// before the decoder sees them, so libpng and libjpeg print nothing to stderr for them.
cv::Mat load_rgb(const std::string& path);

// The same for an image already in memory (e.g. base64-decoded from a TSV benchmark);
// `what` names the image in error messages ("mmbench.tsv row 12").
cv::Mat decode_rgb(const std::vector<uint8_t>& bytes, const std::string& what);

// An RGB image as model input: resized to size x size (bicubic; untouched when already that
// size), scaled to [0, 1] and normalised per channel, (v / 255 - mean[c]) / std[c], computed
// in double and rounded once to float32. Returns float32 [3, size, size], channels R, G, B.
// Throws std::invalid_argument for an image that is not 8-bit 3-channel, size < 1 or std <= 0.
torch::Tensor image_to_tensor(const cv::Mat& rgb, int64_t size, const std::array<double, 3>& mean,
                              const std::array<double, 3>& std);

// InternVL's dynamic high-resolution tiling (InternVL 1.5+, TroL-3.8B): the image is resized
// to cols x rows tiles of tile_size pixels, the grid chosen to match its aspect ratio.
struct TileGrid {
  int cols;
  int rows;
  int tiles() const { return cols * rows; }
};

// The grids InternVL considers, in the order it tries them: every (cols, rows) with
// min_tiles <= cols * rows <= max_tiles, sorted by tile count. Among grids with the same count
// InternVL's order is that of a Python set of tuples (hash order, CPython >= 3.8); it is
// reproduced here because it decides exact ties (see best_tile_grid).
std::vector<TileGrid> tile_grid_candidates(int min_tiles, int max_tiles);

// InternVL's find_closest_aspect_ratio, exactly: the candidate whose cols/rows is closest to
// width/height wins; on an exact tie a later candidate replaces the best one when the image
// area exceeds half the candidate's pixel area (so a big square image gets 2x2 rather than
// 1x1 tiles, a small one stays 1x1). Throws std::invalid_argument for non-positive sizes or
// 1 <= min_tiles <= max_tiles violated.
TileGrid best_tile_grid(int width, int height, int min_tiles, int max_tiles, int tile_size);

// InternVL's dynamic_preprocess: the image resized (bicubic) to cols*tile_size x
// rows*tile_size for the best grid, cut into tiles in row-major order; with use_thumbnail,
// and only when there is more than one tile, the whole image resized to tile_size x tile_size
// follows as the last tile. Each tile is a tile_size x tile_size RGB image that owns its data.
std::vector<cv::Mat> dynamic_tiles(const cv::Mat& rgb, int tile_size, int min_tiles, int max_tiles,
                                   bool use_thumbnail);

// The number of tiles (thumbnail included) an image of width x height becomes.
int64_t tile_count(int width, int height, int64_t tile_size, const TilingOptions& tiling);

// An RGB image as model input: its tiles (dynamic_tiles, or the one resized image), each
// normalised as image_to_tensor does. Returns float32 [tiles, 3, tile_size, tile_size].
torch::Tensor image_to_tiles(const cv::Mat& rgb, int64_t tile_size, const TilingOptions& tiling,
                             const std::array<double, 3>& mean, const std::array<double, 3>& std);
// The same with a run's data settings (data.tiling, data.image_mean and data.image_std): one
// image as trol generate, trol forward and the evaluators give it to the model.
torch::Tensor image_to_tiles(const cv::Mat& rgb, int64_t tile_size, const DataConfig& data);

// An image file's width and height without decoding its pixels where the header says them
// (PNG, JPEG, GIF, BMP; other formats are decoded). What lets the training set size each
// image's token run before any image is decoded. Throws std::runtime_error as load_rgb does.
cv::Size image_file_size(const std::string& path);

}  // namespace trol
