// Progress of one training epoch on stderr: a bar redrawn in place when
// stderr is a terminal, or one plain line every few seconds when it is not
// (a log file, CI), so logs stay readable.
//   baseline 3/20 [=========>          ] 120/312 loss 1.2345 acc 55.1% 812 img/s ETA 0:23 wait 0.1s
#pragma once
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace prunus {
namespace train {

struct ProgressSnapshot {
  int64_t steps_done = 0;
  double loss = 0, accuracy = 0;  // running means over the epoch so far
  int64_t images = 0;
  double seconds = 0;             // since the epoch started
  double data_wait_seconds = 0;
};

enum class ProgressMode { Auto, Bar, Lines, Off };

struct ProgressOptions {
  ProgressMode mode = ProgressMode::Auto;  // Auto: Bar on a terminal, Lines otherwise
  double line_interval_seconds = 15;       // Lines mode: at most one line per interval
  double redraw_interval_seconds = 0.1;    // Bar mode
  std::FILE* stream = stderr;
};

class ProgressReporter {
 public:
  explicit ProgressReporter(ProgressOptions options = {});
  // label: e.g. "baseline 3/20"; total_steps: batches in the epoch.
  void start(const std::string& label, int64_t total_steps);
  void update(const ProgressSnapshot& snapshot);
  // Ends the epoch: clears the bar (the caller prints the epoch summary).
  void finish();
  ProgressMode mode() const { return mode_; }

  // The text of one update, without bar or line ending (exposed for tests).
  static std::string format(const std::string& label, int64_t total_steps, const ProgressSnapshot& s);

 private:
  ProgressOptions options_;
  ProgressMode mode_;
  std::string label_;
  int64_t total_steps_ = 0;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_output_;
};

// "1:02:03" or "2:03".
std::string format_duration(double seconds);

}  // namespace train
}  // namespace prunus
