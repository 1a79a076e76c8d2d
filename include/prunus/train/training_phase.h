// One phase of training (the plain run, or the pipeline's baseline, sparse
// training and fine-tuning): epochs of train_one_epoch, validation after each,
// the metrics log and the resumable run checkpoint. Given the state of a
// checkpoint written after epoch e and start_epoch = e, it continues exactly
// as if never interrupted (same seed and thread count: bit-identical).
#pragma once
#include <cstdio>
#include <functional>
#include <string>

#include "prunus/io/checkpoint.h"
#include "prunus/io/config.h"
#include "prunus/nn/module.h"
#include "prunus/optim/sgd.h"
#include "prunus/train/data_setup.h"
#include "prunus/train/metrics.h"
#include "prunus/train/progress.h"
#include "prunus/train/run_settings.h"
#include "prunus/train/trainer.h"

namespace prunus {
namespace train {

// What every phase of a run shares.
struct RunContext {
  const io::Config* config = nullptr;      // the record, stored in every run checkpoint
  const RunSettings* settings = nullptr;   // the same config, typed: what the run acts on
  const DataSplits* data = nullptr;
  std::string out_dir;       // log.csv goes here
  MetricsHistory history;
  ProgressReporter* progress = nullptr;  // may be null
  std::FILE* log = stdout;               // one summary line per epoch; null = silent
};

struct PhaseSpec {
  std::string name;            // "train", "baseline", "sparse", "finetune"
  int epochs = 1;
  double base_lr = 0.1;
  bool warmup = false;         // apply train.warmup_epochs
  std::string checkpoint_path; // the run checkpoint written after epochs; "" = none
  int checkpoint_every = 1;    // 0 = only after the last epoch
  int stop_after = 0;          // > 0: return after this many epochs (checkpoint written)
};

struct PhaseHooks {
  TrainHooks train;  // passed to train_one_epoch
  // After an epoch's training and validation, before its checkpoint: may
  // change training state (the regularizer) and fill the record's extras.
  std::function<void(int epoch, EpochRecord& record)> end_of_epoch;
  // Adds phase state of the caller to every run checkpoint written.
  std::function<void(io::Checkpoint& checkpoint)> save_extra;
};

struct PhaseResult {
  EpochStats last_train;
  EvalResult last_val;  // NaN when there is no validation set
  int epochs_run = 0;
};

// Runs epochs [start_epoch, spec.epochs); `within` continues epoch
// start_epoch part-way (a mid-epoch checkpoint's checkpoint_epoch_progress).
// The record of each epoch goes to ctx.history and out_dir/log.csv.
// A stop request (stop_request.h) ends the phase after the step in progress:
// the run checkpoint is written, mid-epoch, and Interrupted thrown. A
// diverging loss writes the model as it stands to diverged.bin beside the run
// checkpoint, keeps the last good run checkpoint, and throws TrainingDiverged.
PhaseResult run_phase(RunContext& ctx, nn::Module& model, optim::SGD& optimizer, const PhaseSpec& spec,
                      int start_epoch, const PhaseHooks& hooks = {}, const EpochProgress& within = {});

// A run checkpoint of the current state: model, optimizer, config, metrics,
// position (phase, epochs done). Used by run_phase; exposed for tests.
io::Checkpoint make_run_checkpoint(const RunContext& ctx, nn::Module& model, const optim::SGD& optimizer,
                                   const std::string& phase, int epochs_done);

// The zoo name and input shape a run's checkpoints record.
std::string run_arch(const RunContext& ctx);

// "12.34%" / "-" for NaN.
std::string percent(double fraction);

}  // namespace train
}  // namespace prunus
