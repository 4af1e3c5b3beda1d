#include "train/progress.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

namespace trol {

MetricsLog::MetricsLog(const std::string& jsonl_path) : path_(jsonl_path) {
  const auto folder = std::filesystem::path(jsonl_path).parent_path();
  if (!folder.empty()) std::filesystem::create_directories(folder);
  out_.open(jsonl_path, std::ios::app);
  if (!out_) throw std::runtime_error("cannot open metrics file '" + jsonl_path + "' for appending");
}

void MetricsLog::record(const nlohmann::json& row) {
  out_ << row.dump() << '\n';
  out_.flush();
  if (!out_) throw std::runtime_error("cannot write metrics file '" + path_ + "'");
}

ProgressLine::ProgressLine(std::string stage, int64_t total_steps)
    : stage_(std::move(stage)), total_(total_steps), terminal_(::isatty(STDOUT_FILENO) == 1),
      start_(std::chrono::steady_clock::now()) {}

void ProgressLine::update(int64_t step, double loss, double learning_rate, double tokens_per_second) {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double eta = step > 0 ? elapsed / step * (total_ - step) : 0.0;
  const auto text = fmt::format("[{}] step {}/{}  loss {:.4f}  lr {:.2e}  {:.0f} tok/s  eta {:.0f}s", stage_, step,
                                total_, loss, learning_rate, tokens_per_second, eta);
  if (terminal_) {
    std::printf("\r\033[K%s", text.c_str());
    std::fflush(stdout);
  } else {
    spdlog::info("{}", text);
  }
}

void ProgressLine::finish() {
  if (terminal_) std::printf("\n");
}

}  // namespace trol
