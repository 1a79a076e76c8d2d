#include "prunus/train/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace prunus {
namespace train {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const long total = std::lround(seconds);
  char buffer[32];
  if (total >= 3600)
    std::snprintf(buffer, sizeof buffer, "%ld:%02ld:%02ld", total / 3600, total / 60 % 60, total % 60);
  else
    std::snprintf(buffer, sizeof buffer, "%ld:%02ld", total / 60, total % 60);
  return buffer;
}

ProgressReporter::ProgressReporter(ProgressOptions options) : options_(options), mode_(options.mode) {
  if (mode_ == ProgressMode::Auto)
    mode_ = options_.stream && isatty(fileno(options_.stream)) ? ProgressMode::Bar : ProgressMode::Lines;
  if (!options_.stream) mode_ = ProgressMode::Off;
}

void ProgressReporter::start(const std::string& label, int64_t total_steps) {
  label_ = label;
  total_steps_ = total_steps;
  drawn_ = false;
  last_output_ = std::chrono::steady_clock::now();
}

// "120/312 loss 1.2345 acc 55.1% 812 img/s ETA 0:23 wait 0.1s"
static std::string stats_text(int64_t total_steps, const ProgressSnapshot& s) {
  const double rate = s.seconds > 0 ? s.images / s.seconds : 0.0;
  const double per_step = s.steps_done > 0 ? s.seconds / s.steps_done : 0.0;
  const double eta = per_step * static_cast<double>(std::max<int64_t>(total_steps - s.steps_done, 0));
  char buffer[256];
  std::snprintf(buffer, sizeof buffer, "%lld/%lld loss %.4f acc %.1f%% %.0f img/s ETA %s wait %.1fs",
                static_cast<long long>(s.steps_done), static_cast<long long>(total_steps), s.loss,
                100.0 * s.accuracy, rate, s.steps_done > 0 ? format_duration(eta).c_str() : "?",
                s.data_wait_seconds);
  return buffer;
}

std::string ProgressReporter::format(const std::string& label, int64_t total_steps, const ProgressSnapshot& s) {
  return label + " " + stats_text(total_steps, s);
}

void ProgressReporter::update(const ProgressSnapshot& s) {
  if (mode_ == ProgressMode::Off) return;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_output_).count();
  const bool last = s.steps_done >= total_steps_;
  if (mode_ == ProgressMode::Lines) {
    // The epoch summary follows the last step, so it needs no line of its own.
    if (last || since < options_.line_interval_seconds) return;
    std::fprintf(options_.stream, "%s\n", format(label_, total_steps_, s).c_str());
  } else {
    if (drawn_ && !last && since < options_.redraw_interval_seconds) return;
    constexpr int kWidth = 20;
    const double done = total_steps_ > 0 ? double(s.steps_done) / double(total_steps_) : 1.0;
    const int filled = static_cast<int>(std::min(1.0, done) * kWidth);
    std::string bar(kWidth, ' ');
    for (int i = 0; i < filled; ++i) bar[i] = '=';
    if (filled < kWidth) bar[filled] = '>';
    const std::string text = label_ + " [" + bar + "] " + stats_text(total_steps_, s);
    std::fprintf(options_.stream, "\r\033[K%s", text.c_str());
    drawn_ = true;
  }
  std::fflush(options_.stream);
  last_output_ = now;
}

void ProgressReporter::finish() {
  if (mode_ == ProgressMode::Bar && drawn_) {
    std::fprintf(options_.stream, "\r\033[K");
    std::fflush(options_.stream);
  }
  drawn_ = false;
}

}  // namespace train
}  // namespace prunus
