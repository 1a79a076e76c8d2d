// The training loop: one epoch of SGD over a Loader, and evaluation of a
// model on a whole dataset. Cross-entropy loss; accuracy is top-1.
// A non-finite loss stops training with an Error naming the epoch and step.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "prunus/data/augment.h"
#include "prunus/data/dataset.h"
#include "prunus/data/loader.h"
#include "prunus/nn/module.h"
#include "prunus/optim/lr_schedule.h"
#include "prunus/optim/sgd.h"
#include "prunus/train/progress.h"

namespace prunus {
namespace train {

// Stops a run whose loss explodes while staying finite (NaN and Inf stop it at
// once). Rule: a model guessing uniformly scores ln(classes); a mean loss over
// the last kWindow steps above kFactor times that is confidently wrong
// everywhere: TrainingDiverged. Steady runs stay far below (CIFAR-10: ln 10 =
// 2.3 at the start, under 1 soon after; the bound is 23).
class DivergenceWatch {
 public:
  static constexpr size_t kWindow = 20;
  static constexpr double kFactor = 10.0;
  void add(double loss, int64_t classes);
  // The recent losses (a ring, at most kWindow) and the count seen, for checkpoints.
  const std::vector<double>& recent() const { return recent_; }
  int64_t seen() const { return seen_; }
  void restore(std::vector<double> recent, int64_t seen);  // throws on an inconsistent state

 private:
  std::vector<double> recent_;  // the last kWindow losses, as a ring
  int64_t seen_ = 0;
};

// The loss is NaN or Inf, or DivergenceWatch saw it explode: the run cannot go on.
class TrainingDiverged : public Error {
 public:
  using Error::Error;
};

// The running sums of an epoch part-way through: what a mid-epoch checkpoint
// stores so that the resumed epoch ends with the same statistics as an
// uninterrupted one (the times are the only figures that differ).
struct EpochProgress {
  int64_t steps = 0, images = 0, correct = 0;
  double loss_sum = 0;  // sum over steps of loss x batch size
  double lr_first = 0;
  double seconds = 0, data_wait_seconds = 0;
  DivergenceWatch divergence;
};

struct EpochStats {
  double loss = 0, accuracy = 0;  // means over the epoch's images (train mode, augmented)
  int64_t images = 0, steps = 0;
  double seconds = 0, images_per_second = 0;
  double data_wait_seconds = 0;   // time spent waiting for the loader
  double communication_seconds = 0;  // in collectives with the other processes (data parallel; this part only)
  double lr_first = 0, lr_last = 0;
  // Set when a stop was requested (stop_request.h) before the epoch's last
  // step: the epoch ended early and this is where it stood.
  bool interrupted = false;
  EpochProgress progress;
};

struct EvalResult {
  double loss = 0, accuracy = 0;  // NaN for an empty dataset
  int64_t images = 0;
  double seconds = 0;
};

struct StepInfo {
  int epoch = 0;                 // 0-based
  int64_t step = 0, steps_per_epoch = 0;
  int64_t batch_size = 0;
  double loss = 0, lr = 0;
};

// Called after every optimizer step and after the epoch (the pruning
// pipeline uses them); either may be empty.
struct TrainHooks {
  std::function<void(const StepInfo&)> after_step;
  std::function<void(int epoch, const EpochStats&)> after_epoch;
};


// Trains `model` for epoch `epoch` (0-based) of the loader: the lr of each
// step is schedule.lr_at(epoch, step, batches per epoch). progress may be null;
// label names the epoch in the progress output ("baseline 3/20"). `start`
// continues an epoch interrupted after start.steps steps (the default: from
// its first step). After each step a requested stop ends the epoch early
// (EpochStats::interrupted). A NaN, Inf or exploding loss throws TrainingDiverged.
EpochStats train_one_epoch(nn::Module& model, data::Loader& loader, optim::SGD& optimizer,
                           const optim::LrSchedule& schedule, int epoch, const TrainHooks& hooks = {},
                           ProgressReporter* progress = nullptr, const std::string& label = "train",
                           const EpochProgress& start = {});

// Mean loss and accuracy over `dataset` in eval mode (no gradients, no
// augmentation besides `normalization`'s mean/stddev); every module's
// training mode is restored afterwards.
EvalResult evaluate(nn::Module& model, const data::Dataset& dataset, int batch_size,
                    const data::Augmentation& normalization);

// Number of rows of logits [N, K] whose largest entry (the first one on ties)
// is at labels[row].
int64_t count_correct(const Tensor& logits, const std::vector<int>& labels);

}  // namespace train
}  // namespace prunus
