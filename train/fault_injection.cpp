#include "train/fault_injection.h"

#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdlib>
#include <string>

namespace trol {
namespace {

struct Fault {
  std::string point;
  int64_t step = -1;
  int signal_number = SIGKILL;
};

Fault parse_fault() {
  Fault fault;
  const char* text = std::getenv("TROL_FAULT");
  if (text == nullptr || *text == '\0') return fault;
  const std::string spec(text);
  const auto at = spec.find('@');
  const auto colon = spec.find(':', at == std::string::npos ? 0 : at);
  try {
    if (at == std::string::npos) throw std::invalid_argument("no @");
    fault.point = spec.substr(0, at);
    fault.step = std::stoll(spec.substr(at + 1, colon == std::string::npos ? std::string::npos : colon - at - 1));
    if (colon != std::string::npos) {
      const auto name = spec.substr(colon + 1);
      if (name == "TERM") fault.signal_number = SIGTERM;
      else if (name == "STOP") fault.signal_number = SIGSTOP;
      else if (name != "KILL") throw std::invalid_argument("signal");
    }
  } catch (const std::exception&) {
    throw std::runtime_error("TROL_FAULT='" + spec + "': expected <point>@<step>[:KILL|:TERM|:STOP]");
  }
  // TROL_FAULT_RANK=r: only the process whose RANK is r (multi-process tests).
  if (const char* only = std::getenv("TROL_FAULT_RANK"); only != nullptr && *only != '\0') {
    const char* rank = std::getenv("RANK");
    if (std::string(rank != nullptr ? rank : "0") != only) fault.step = -1;
  }
  return fault;
}

}  // namespace

void fault_point(const char* point, int64_t global_step) {
  static const Fault fault = parse_fault();
  if (fault.step != global_step || fault.point != point) return;
  spdlog::warn("TROL_FAULT: signal {} at {} of step {}", fault.signal_number, point, global_step);
  spdlog::default_logger()->flush();
  std::raise(fault.signal_number);
}

}  // namespace trol
