// What a training run tells its user: a progress line (redrawn in place on a terminal,
// plain periodic lines otherwise) and every metric record appended to a JSON-lines file.
#pragma once

#include <chrono>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

namespace trol {

class MetricsLog {
 public:
  explicit MetricsLog(const std::string& jsonl_path);  // appends; creates the folder
  void record(const nlohmann::json& row);              // one line, flushed

 private:
  std::ofstream out_;
  std::string path_;
};

class ProgressLine {
 public:
  ProgressLine(std::string stage, int64_t total_steps);
  // step counts from 1; tokens is the number of tokens processed since the last update.
  void update(int64_t step, double loss, double learning_rate, double tokens_per_second);
  void finish();

 private:
  std::string stage_;
  int64_t total_;
  bool terminal_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace trol
