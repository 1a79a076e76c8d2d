#include "prunus/optim/lr_schedule.h"

#include <cmath>
#include <cstdint>
#include <sstream>

#include "prunus/error.h"

namespace prunus {
namespace optim {

namespace {
constexpr double kPi = 3.14159265358979323846;
}

const char* lr_schedule_kind_name(LrScheduleKind kind) {
  switch (kind) {
    case LrScheduleKind::Constant: return "constant";
    case LrScheduleKind::MultiStep: return "multistep";
    case LrScheduleKind::Cosine: return "cosine";
  }
  return "unknown";
}

LrScheduleKind parse_lr_schedule_kind(const std::string& name) {
  for (LrScheduleKind kind : {LrScheduleKind::Constant, LrScheduleKind::MultiStep, LrScheduleKind::Cosine})
    if (name == lr_schedule_kind_name(kind)) return kind;
  PRUNUS_FAIL("unknown learning-rate schedule '", name, "'; expected one of constant, multistep, cosine");
}

LrSchedule::LrSchedule(LrScheduleKind kind, double base_lr, int warmup_epochs)
    : kind_(kind), base_lr_(base_lr), warmup_epochs_(warmup_epochs) {
  PRUNUS_CHECK(std::isfinite(base_lr) && base_lr >= 0, lr_schedule_kind_name(kind),
               " lr schedule: base learning rate ", base_lr, " is invalid; expected a finite value >= 0");
  PRUNUS_CHECK(warmup_epochs >= 0, lr_schedule_kind_name(kind), " lr schedule: warmup_epochs is ",
               warmup_epochs, "; expected >= 0");
}

LrSchedule LrSchedule::constant(double base_lr, int warmup_epochs) {
  return LrSchedule(LrScheduleKind::Constant, base_lr, warmup_epochs);
}

LrSchedule LrSchedule::multistep(double base_lr, std::vector<int> milestones, double gamma, int warmup_epochs) {
  LrSchedule schedule(LrScheduleKind::MultiStep, base_lr, warmup_epochs);
  PRUNUS_CHECK(std::isfinite(gamma) && gamma > 0, "multistep lr schedule: gamma is ", gamma,
               "; expected a finite value > 0");
  for (size_t i = 0; i < milestones.size(); ++i) {
    PRUNUS_CHECK(milestones[i] >= 1, "multistep lr schedule: milestone ", milestones[i],
                 " is not a valid epoch; milestones are epochs >= 1");
    PRUNUS_CHECK(i == 0 || milestones[i] > milestones[i - 1], "multistep lr schedule: milestones must be ",
                 "strictly increasing, but ", milestones[i], " follows ", milestones[i - 1]);
  }
  schedule.milestones_ = std::move(milestones);
  schedule.gamma_ = gamma;
  return schedule;
}

LrSchedule LrSchedule::cosine(double base_lr, int total_epochs, int warmup_epochs) {
  LrSchedule schedule(LrScheduleKind::Cosine, base_lr, warmup_epochs);
  PRUNUS_CHECK(total_epochs > warmup_epochs, "cosine lr schedule: total_epochs is ", total_epochs,
               "; expected more than warmup_epochs (", warmup_epochs, ")");
  schedule.total_epochs_ = total_epochs;
  return schedule;
}

double LrSchedule::lr_at(int epoch, int step_in_epoch, int steps_per_epoch) const {
  PRUNUS_CHECK(steps_per_epoch >= 1, "lr_at: steps_per_epoch is ", steps_per_epoch, "; expected >= 1");
  PRUNUS_CHECK(epoch >= 0, "lr_at: epoch is ", epoch, "; expected >= 0");
  PRUNUS_CHECK(step_in_epoch >= 0 && step_in_epoch < steps_per_epoch, "lr_at: step ", step_in_epoch,
               " is outside epoch of ", steps_per_epoch, " steps; expected 0 <= step < ", steps_per_epoch);
  const int64_t global_step = static_cast<int64_t>(epoch) * steps_per_epoch + step_in_epoch;
  double lr = base_lr_;
  switch (kind_) {
    case LrScheduleKind::Constant:
      break;
    case LrScheduleKind::MultiStep:
      for (int milestone : milestones_)
        if (epoch >= milestone) lr *= gamma_;
      break;
    case LrScheduleKind::Cosine: {
      const double t = static_cast<double>(global_step) / steps_per_epoch;  // epochs done, fractional
      if (t >= total_epochs_) return 0.0;
      if (t > warmup_epochs_) {
        const double progress = (t - warmup_epochs_) / (total_epochs_ - warmup_epochs_);
        lr = 0.5 * base_lr_ * (1.0 + std::cos(kPi * progress));
      }
      break;
    }
  }
  const int64_t warmup_steps = static_cast<int64_t>(warmup_epochs_) * steps_per_epoch;
  if (global_step < warmup_steps) lr *= static_cast<double>(global_step + 1) / warmup_steps;
  return lr;
}

std::string LrSchedule::describe() const {
  std::ostringstream out;
  out << lr_schedule_kind_name(kind_) << " lr " << base_lr_;
  if (kind_ == LrScheduleKind::MultiStep) {
    out << " x" << gamma_ << " at epochs";
    if (milestones_.empty()) out << " (none)";
    for (size_t i = 0; i < milestones_.size(); ++i) out << (i ? "," : " ") << milestones_[i];
  }
  if (kind_ == LrScheduleKind::Cosine) out << " to 0 over " << total_epochs_ << " epochs";
  if (warmup_epochs_ > 0) out << ", linear warm-up " << warmup_epochs_ << " epochs";
  return out.str();
}

}  // namespace optim
}  // namespace prunus
