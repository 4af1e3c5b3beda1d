// SIGTERM and SIGINT while training. Cluster schedulers send SIGTERM some time before they
// preempt a job, and Ctrl-C sends SIGINT: either asks the trainer to finish its step, write a
// checkpoint and exit 0, so the run resumes with `train.resume=auto` and loses nothing.
// A second signal of the same kind ends the process at once (the default action).
#pragma once

namespace trol {

class StopSignals {
 public:
  StopSignals();   // installs the handlers
  ~StopSignals();  // restores the handlers that were there before
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  bool requested() const;
  const char* name() const;  // "SIGTERM" or "SIGINT"; "" before any
};

}  // namespace trol
