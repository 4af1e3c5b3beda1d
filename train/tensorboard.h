// TensorBoard event files, so users can point `tensorboard --logdir` at a run folder.
//
// The format is TensorFlow's: a TFRecord file `events.out.tfevents.<seconds>.<host>.<pid>` of
// records [uint64 length][uint32 masked CRC-32C of the length][Event protobuf][uint32 masked
// CRC-32C of the Event], the first Event holding file_version "brain.Event:2", the others a
// Summary of scalar values. Written by hand: Debian ships no C++ TensorBoard writer, and the
// three protobuf messages needed (Event, Summary, Summary.Value) are a few fields each, not
// worth a protobuf dependency (whose Debian build also clashes with LibTorch's, see docs/data.md).
#pragma once

#include <cstdint>
#include <fstream>
#include <string>

namespace trol {

// CRC-32C (Castagnoli), as TFRecord checksums use it.
uint32_t crc32c(const std::string& bytes);

class TensorBoardWriter {
 public:
  explicit TensorBoardWriter(const std::string& folder);  // creates the folder and a new event file
  void add_scalar(const std::string& tag, double value, int64_t step);
  void flush();
  const std::string& path() const { return path_; }

 private:
  void write_record(const std::string& event);
  std::ofstream out_;
  std::string path_;
};

}  // namespace trol
