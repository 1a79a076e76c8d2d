#include "prunus/train/stop_request.h"

#include <unistd.h>

#include <atomic>
#include <cstring>

namespace prunus {
namespace train {

namespace {
// Written by the signal handler: lock-free atomics are async-signal-safe.
std::atomic<int> requested_signal{0};
static_assert(std::atomic<int>::is_always_lock_free, "the stop flag must be usable from a signal handler");

extern "C" void on_stop_signal(int signal) {
  requested_signal.store(signal);
  // write(2) is async-signal-safe; stdio is not.
  static const char message[] =
      "\nprunus: stop requested: finishing this step and saving a checkpoint (signal again to quit at once)\n";
  const ssize_t ignored = ::write(STDERR_FILENO, message, sizeof message - 1);
  (void)ignored;
}

void install(int signal, struct sigaction* previous) {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  // SA_RESETHAND: the second signal gets the default action (the process ends).
  // SA_RESTART: a read or write in progress is resumed, not failed with EINTR.
  action.sa_flags = SA_RESETHAND | SA_RESTART;
  PRUNUS_CHECK(::sigaction(signal, &action, previous) == 0, "cannot install the handler for ", signal_name(signal),
               ": ", std::strerror(errno));
}
}  // namespace

StopOnSignals::StopOnSignals() {
  clear_stop_request();
  install(SIGINT, &previous_int_);
  install(SIGTERM, &previous_term_);
}

StopOnSignals::~StopOnSignals() {
  ::sigaction(SIGINT, &previous_int_, nullptr);
  ::sigaction(SIGTERM, &previous_term_, nullptr);
}

int stop_signal() { return requested_signal.load(); }
void request_stop(int signal) { requested_signal.store(signal); }
void clear_stop_request() { requested_signal.store(0); }

std::string signal_name(int signal) {
  if (signal == SIGINT) return "SIGINT";
  if (signal == SIGTERM) return "SIGTERM";
  return "signal " + std::to_string(signal);
}

}  // namespace train
}  // namespace prunus
