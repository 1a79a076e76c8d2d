// Stopping a training run cleanly on SIGINT or SIGTERM. While a StopOnSignals
// is alive, the first such signal only sets a flag: the trainer finishes the
// step in progress, writes a run checkpoint (mid-epoch, resumable
// bit-identically) and throws Interrupted, which the CLI turns into one line
// saying how to continue. A second signal ends the process at once (the
// default action), for a user who does not want to wait.
#pragma once
#include <csignal>
#include <string>

#include "prunus/error.h"

namespace prunus {
namespace train {

class StopOnSignals {
 public:
  StopOnSignals();  // installs the handlers for SIGINT and SIGTERM, clears any earlier request
  ~StopOnSignals();  // restores the handlers that were there before
  StopOnSignals(const StopOnSignals&) = delete;
  StopOnSignals& operator=(const StopOnSignals&) = delete;

 private:
  struct sigaction previous_int_{}, previous_term_{};
};

// The signal that asked to stop (SIGINT, SIGTERM), or 0.
int stop_signal();
inline bool stop_requested() { return stop_signal() != 0; }
// What the handler does, for tests and for callers with a reason of their own.
void request_stop(int signal);
void clear_stop_request();
// "SIGINT", "SIGTERM", "signal 10".
std::string signal_name(int signal);

// A run stopped on request after saving its state; what() says where it
// stopped and where the state is (the CLI adds how to continue). Exit
// status 128 + signal, as if the signal had ended the process.
class Interrupted : public Error {
 public:
  Interrupted(int signal, const std::string& message) : Error(message), signal_(signal) {}
  int signal() const { return signal_; }

 private:
  int signal_;
};

}  // namespace train
}  // namespace prunus
