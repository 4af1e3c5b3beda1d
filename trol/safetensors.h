// The safetensors format (Hugging Face): an 8-byte little-endian header length N, N bytes of
// JSON {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
// "__metadata__": {string: string}}, then the raw little-endian tensor bytes.
//
// Written by hand because no Debian package provides a C++ safetensors library; the format
// is small and fully specified. Writes are atomic (temporary file, fsync, rename), so a
// crash never leaves a half-written file under the final name.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace trol {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// Writes CPU copies of `tensors` in the given order. Throws std::runtime_error naming the
// file when it cannot be written, or a tensor whose dtype safetensors cannot hold.
void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata = {});

struct SafetensorsFile {
  std::map<std::string, torch::Tensor> tensors;  // CPU tensors owning their memory
  std::map<std::string, std::string> metadata;
};

// Reads a whole file. Truncated files, bad headers and offsets outside the data are
// std::runtime_error naming the file and the tensor.
SafetensorsFile load_safetensors(const std::string& path);

// Writes `bytes` to `path` atomically: `path`.tmp, fsync, rename, fsync of the folder.
void write_file_atomically(const std::string& path, const std::string& bytes);

}  // namespace trol
