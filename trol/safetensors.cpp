#include "trol/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string_view>

namespace trol {

namespace {

const std::vector<std::pair<torch::ScalarType, std::string>>& dtype_names() {
  static const std::vector<std::pair<torch::ScalarType, std::string>> names{
      {torch::kFloat32, "F32"}, {torch::kFloat64, "F64"}, {torch::kFloat16, "F16"}, {torch::kBFloat16, "BF16"},
      {torch::kInt64, "I64"},   {torch::kInt32, "I32"},   {torch::kInt16, "I16"},   {torch::kInt8, "I8"},
      {torch::kUInt8, "U8"},    {torch::kBool, "BOOL"}};
  return names;
}

std::string dtype_name(torch::ScalarType type, const std::string& tensor) {
  for (const auto& [t, name] : dtype_names()) {
    if (t == type) return name;
  }
  throw std::runtime_error("safetensors: tensor '" + tensor + "' has unsupported dtype " +
                           std::string(c10::toString(type)));
}

torch::ScalarType dtype_of(const std::string& name, const std::string& where) {
  for (const auto& [t, n] : dtype_names()) {
    if (n == name) return t;
  }
  throw std::runtime_error(where + ": unsupported dtype '" + name + "'");
}

[[noreturn]] void io_error(const std::string& what, const std::string& path) {
  throw std::runtime_error(what + " '" + path + "': " + std::strerror(errno));
}

}  // namespace

void write_file_atomically(const std::string& path, const std::string& bytes) {
  const std::string temporary = path + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) io_error("cannot create", temporary);
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      io_error("cannot write", temporary);
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) io_error("cannot flush", temporary);
  if (std::rename(temporary.c_str(), path.c_str()) != 0) io_error("cannot rename into", path);
  const auto folder = std::filesystem::absolute(path).parent_path().string();
  const int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<torch::Tensor> contiguous;
  size_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    const auto cpu = tensor.detach().to(torch::kCPU).contiguous();
    const size_t bytes = cpu.numel() * cpu.element_size();
    header[name] = {{"dtype", dtype_name(cpu.scalar_type(), name)},
                    {"shape", cpu.sizes().vec()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    contiguous.push_back(cpu);
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // the spec allows padding; aligns the data
  std::string out;
  out.reserve(8 + text.size() + offset);
  const uint64_t length = text.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((length >> (8 * i)) & 0xff));
  out += text;
  for (const auto& t : contiguous) out.append(static_cast<const char*>(t.data_ptr()), t.numel() * t.element_size());
  write_file_atomically(path, out);
}

namespace {

// The file mapped read-only: each tensor is copied once, from the page cache into its own
// memory, instead of reading the whole file into a buffer first (which doubled the peak memory
// of loading a multi-gigabyte shard).
class MappedFile {
 public:
  explicit MappedFile(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error("cannot open safetensors file '" + path + "': " + std::strerror(errno));
    struct stat info {};
    if (::fstat(fd, &info) != 0) {
      ::close(fd);
      throw std::runtime_error("cannot stat safetensors file '" + path + "': " + std::strerror(errno));
    }
    size_ = static_cast<size_t>(info.st_size);
    if (size_ > 0) {
      void* mapped = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (mapped == MAP_FAILED) {
        ::close(fd);
        throw std::runtime_error("cannot map safetensors file '" + path + "': " + std::strerror(errno));
      }
      data_ = static_cast<const char*>(mapped);
    }
    ::close(fd);
  }
  ~MappedFile() {
    if (data_ != nullptr) ::munmap(const_cast<char*>(data_), size_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  const char* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  const char* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace

SafetensorsFile load_safetensors(const std::string& path) {
  const MappedFile file_bytes(path);
  const std::string_view bytes(file_bytes.data() == nullptr ? "" : file_bytes.data(), file_bytes.size());
  if (bytes.size() < 8) throw std::runtime_error(path + ": truncated safetensors file (no header length)");
  uint64_t length = 0;
  for (int i = 0; i < 8; ++i) length |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[i])) << (8 * i);
  if (length > bytes.size() - 8) {
    throw std::runtime_error(path + ": truncated safetensors file (header of " + std::to_string(length) +
                             " bytes, file of " + std::to_string(bytes.size()) + ")");
  }
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(length));
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(path + ": bad safetensors header: " + e.what());
  }
  const size_t data_start = 8 + length;
  const size_t data_size = bytes.size() - data_start;
  SafetensorsFile file;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      for (const auto& [key, value] : entry.items()) file.metadata[key] = value.get<std::string>();
      continue;
    }
    const std::string where = path + ": tensor '" + name + "'";
    try {
      const auto type = dtype_of(entry.at("dtype").get<std::string>(), where);
      const auto shape = entry.at("shape").get<std::vector<int64_t>>();
      const auto offsets = entry.at("data_offsets").get<std::vector<size_t>>();
      auto tensor = torch::empty(shape, torch::TensorOptions().dtype(type));
      const size_t expected = tensor.numel() * tensor.element_size();
      if (offsets.size() != 2 || offsets[0] > offsets[1] || offsets[1] > data_size ||
          offsets[1] - offsets[0] != expected) {
        throw std::runtime_error(where + ": data offsets do not match its shape and dtype, or lie outside the file" +
                                 (offsets.size() == 2 && offsets[1] > data_size ? " (file truncated?)" : ""));
      }
      std::memcpy(tensor.data_ptr(), bytes.data() + data_start + offsets[0], expected);
      file.tensors.emplace(name, tensor);
    } catch (const nlohmann::json::exception& e) {
      throw std::runtime_error(where + ": malformed entry: " + e.what());
    }
  }
  return file;
}

}  // namespace trol
