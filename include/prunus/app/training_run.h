// `prunus train`: a whole training run from a config, into out.dir:
//   config.conf     the effective config (every key, with where its value came from)
//   log.csv         one line per epoch (MetricsHistory::to_csv)
//   checkpoint.bin  the run state after the last finished epoch (resumable)
//   final.bin       the trained model with its config and metrics, no timings:
//                   two runs that trained identically write identical files
//   summary.json    final/best accuracies, speed, model size
#pragma once
#include <cstdio>
#include <functional>
#include <string>

#include "prunus/io/config.h"
#include "prunus/train/data_setup.h"
#include "prunus/train/progress.h"
#include "prunus/train/trainer.h"

namespace prunus {
namespace app {

using namespace train;  // the app layer builds on the training library

struct TrainRunOptions {
  bool resume = false;                   // continue from out.dir/checkpoint.bin when it exists
  // Without resume or overwrite, an out.dir that already holds a run
  // (checkpoint.bin or final.bin) is an Error: nothing trained is lost by a
  // command repeated without --resume.
  bool overwrite = false;
  ProgressReporter* progress = nullptr;  // may be null
  std::FILE* log = stdout;               // null = silent
  // > 0: return after this many epochs of this call, as an interruption
  // would (checkpoint written, no final.bin); for slicing long runs and tests.
  int max_epochs = 0;
  // Called after every optimizer step (custom logging; tests stop a run at a chosen step).
  std::function<void(const StepInfo&)> after_step;
};

struct TrainRunResult {
  EvalResult val, test;  // of the final model; NaN where the split is absent
  int epochs_run = 0;    // in this call (fewer than train.epochs after a resume)
  int start_epoch = 0;   // where this call started
  bool finished = false; // all train.epochs done (false when max_epochs stopped it)
};

TrainRunResult run_training(const io::Config& config, const DataSplits& data, const TrainRunOptions& options = {});

// Paths inside out.dir.
std::string out_path(const OutSettings& out, const std::string& file);

}  // namespace app
}  // namespace prunus
