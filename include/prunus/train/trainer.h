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

struct EpochStats {
  double loss = 0, accuracy = 0;  // means over the epoch's images (train mode, augmented)
  int64_t images = 0, steps = 0;
  double seconds = 0, images_per_second = 0;
  double data_wait_seconds = 0;   // time spent waiting for the loader
  double lr_first = 0, lr_last = 0;
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

// Stops a run whose loss explodes while staying finite (NaN and Inf stop it at
// once). Rule: a model guessing uniformly scores ln(classes); a mean loss over
// the last kWindow steps above kFactor times that is confidently wrong
// everywhere: Error. Steady runs stay far below (CIFAR-10: ln 10 = 2.3 at the
// start, under 1 soon after; the bound is 23).
class DivergenceWatch {
 public:
  static constexpr size_t kWindow = 20;
  static constexpr double kFactor = 10.0;
  void add(double loss, int64_t classes);

 private:
  std::vector<double> recent_;  // the last kWindow losses, as a ring
  int64_t seen_ = 0;
};

// Trains `model` for epoch `epoch` (0-based) of the loader: the lr of each
// step is schedule.lr_at(epoch, step, batches per epoch). progress may be null;
// label names the epoch in the progress output ("baseline 3/20").
EpochStats train_one_epoch(nn::Module& model, data::Loader& loader, optim::SGD& optimizer,
                           const optim::LrSchedule& schedule, int epoch, const TrainHooks& hooks = {},
                           ProgressReporter* progress = nullptr, const std::string& label = "train");

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
