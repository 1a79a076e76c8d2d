// Learning-rate schedules, evaluated per step from (epoch, step in epoch), so
// a resumed run gets the same learning rates without any saved state.
//   constant:  base_lr
//   multistep: base_lr * gamma^(number of milestones <= epoch); milestones are
//              epochs, so the rate changes at the first step of a milestone epoch
//   cosine:    0.5 * base_lr * (1 + cos(pi * (t - warmup) / (total - warmup)))
//              with t = epoch + step / steps_per_epoch, reaching 0 at
//              total_epochs and staying 0 after it
// Optional linear warm-up over the first warmup_epochs, per step: the rate
// above times (global_step + 1) / (warmup_epochs * steps_per_epoch), where
// global_step = epoch * steps_per_epoch + step; so the first step uses a small
// but nonzero rate and the first step after warm-up the full one.
#pragma once
#include <string>
#include <vector>

namespace prunus {
namespace optim {

enum class LrScheduleKind { Constant, MultiStep, Cosine };

const char* lr_schedule_kind_name(LrScheduleKind kind);  // "constant", "multistep", "cosine"
// Inverse of lr_schedule_kind_name; throws naming the valid kinds.
LrScheduleKind parse_lr_schedule_kind(const std::string& name);

class LrSchedule {
 public:
  // Each factory throws on a negative or non-finite base_lr, a negative
  // warmup_epochs, and the kind's own bad settings (see below).
  static LrSchedule constant(double base_lr, int warmup_epochs = 0);
  // milestones strictly increasing and >= 1; gamma finite and > 0.
  static LrSchedule multistep(double base_lr, std::vector<int> milestones, double gamma,
                              int warmup_epochs = 0);
  // total_epochs > warmup_epochs.
  static LrSchedule cosine(double base_lr, int total_epochs, int warmup_epochs = 0);

  // Throws on epoch < 0, steps_per_epoch < 1 or step outside [0, steps_per_epoch).
  double lr_at(int epoch, int step_in_epoch, int steps_per_epoch) const;

  LrScheduleKind kind() const { return kind_; }
  double base_lr() const { return base_lr_; }
  int warmup_epochs() const { return warmup_epochs_; }
  const std::vector<int>& milestones() const { return milestones_; }
  double gamma() const { return gamma_; }
  int total_epochs() const { return total_epochs_; }
  std::string describe() const;  // one line for logs, e.g. "cosine lr 0.1 to 0 over 160 epochs, linear warm-up 5 epochs"

 private:
  LrSchedule(LrScheduleKind kind, double base_lr, int warmup_epochs);
  LrScheduleKind kind_;
  double base_lr_;
  int warmup_epochs_;
  std::vector<int> milestones_;
  double gamma_ = 1.0;
  int total_epochs_ = 0;
};

}  // namespace optim
}  // namespace prunus
