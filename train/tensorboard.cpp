#include "train/tensorboard.h"

#include <unistd.h>

#include <array>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace trol {
namespace {

const std::array<uint32_t, 256>& crc32c_table() {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;  // reflected Castagnoli polynomial
      t[i] = c;
    }
    return t;
  }();
  return table;
}

uint32_t masked_crc(const std::string& bytes) {
  const uint32_t crc = crc32c(bytes);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

std::string little_endian(uint64_t value, int bytes) {
  std::string out;
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
  return out;
}

// Protocol-buffer wire format: just the pieces Event/Summary need.
std::string varint(uint64_t value) {
  std::string out;
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
  return out;
}
std::string field_key(int field, int wire_type) { return varint(static_cast<uint64_t>(field) << 3 | wire_type); }
std::string length_delimited(int field, const std::string& bytes) {
  return field_key(field, 2) + varint(bytes.size()) + bytes;
}
std::string fixed64(int field, double value) {
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return field_key(field, 1) + little_endian(bits, 8);
}
std::string fixed32(int field, float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return field_key(field, 5) + little_endian(bits, 4);
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Event: wall_time = 1 (double), step = 2 (int64), file_version = 3 (string), summary = 5.
std::string event(int64_t step, const std::string& payload) {
  return fixed64(1, now_seconds()) + field_key(2, 0) + varint(static_cast<uint64_t>(step)) + payload;
}

}  // namespace

uint32_t crc32c(const std::string& bytes) {
  const auto& table = crc32c_table();
  uint32_t crc = 0xffffffffu;
  for (unsigned char b : bytes) crc = table[(crc ^ b) & 0xff] ^ (crc >> 8);
  return crc ^ 0xffffffffu;
}

TensorBoardWriter::TensorBoardWriter(const std::string& folder) {
  std::filesystem::create_directories(folder);
  char host[256] = "localhost";
  gethostname(host, sizeof host - 1);
  path_ = folder + "/events.out.tfevents." + std::to_string(static_cast<int64_t>(now_seconds())) + "." + host + "." +
          std::to_string(::getpid());
  out_.open(path_, std::ios::binary);
  if (!out_) throw std::runtime_error("cannot write " + path_);
  write_record(event(0, length_delimited(3, "brain.Event:2")));
  flush();
}

void TensorBoardWriter::add_scalar(const std::string& tag, double value, int64_t step) {
  // Summary.Value: tag = 1, simple_value = 2 (float); Summary: value = 1 (repeated).
  const auto summary_value = length_delimited(1, tag) + fixed32(2, static_cast<float>(value));
  write_record(event(step, length_delimited(5, length_delimited(1, summary_value))));
}

void TensorBoardWriter::flush() { out_.flush(); }

void TensorBoardWriter::write_record(const std::string& event_bytes) {
  const auto length = little_endian(event_bytes.size(), 8);
  out_ << length << little_endian(masked_crc(length), 4) << event_bytes << little_endian(masked_crc(event_bytes), 4);
  if (!out_) throw std::runtime_error("cannot write " + path_);
}

}  // namespace trol
