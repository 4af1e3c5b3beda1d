#include "train/stop_signal.h"

#include <csignal>

namespace trol {
namespace {

volatile std::sig_atomic_t received = 0;
struct sigaction previous_term, previous_int;

extern "C" void on_stop_signal(int signal_number) { received = signal_number; }

}  // namespace

StopSignals::StopSignals() {
  received = 0;
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  // SA_RESETHAND: the handler runs once; a second signal takes the default action and ends
  // the process, as a user pressing Ctrl-C twice expects.
  action.sa_flags = SA_RESETHAND | SA_RESTART;
  sigaction(SIGTERM, &action, &previous_term);
  sigaction(SIGINT, &action, &previous_int);
}

StopSignals::~StopSignals() {
  sigaction(SIGTERM, &previous_term, nullptr);
  sigaction(SIGINT, &previous_int, nullptr);
}

bool StopSignals::requested() const { return received != 0; }

const char* StopSignals::name() const {
  if (received == SIGTERM) return "SIGTERM";
  if (received == SIGINT) return "SIGINT";
  return "";
}

}  // namespace trol
