// `prunus prune`: the pipeline of PRUNING.md from a config, into out.dir.
//   analyze   trace the dense model, print the dimension-matching convs D
//   baseline  train the dense model (prune.baseline_epochs, else train.epochs)
//             or load prune.baseline_checkpoint
//   sparse    prune.sparse_epochs with L1 on the gates (adaptive or plain per
//             the method), the regularizer updated every epoch, lambda0 logged
//   prune     thresholds (swp) -> top-up to prune.flops_target -> coarse
//             (filters) -> fine (stripes / channels / weights); l1norm instead
//             removes filters one-shot by weight norm
//   finetune  prune.finetune_epochs with the masks fixed
//   compact   the physically smaller model; its outputs are checked against the
//             masked model, both are evaluated and their CPU inference timed
//   report    report.md / report.json / report.svg and summary.json
// Every stage ends with out.dir/stage_<name>.bin (a model checkpoint plus the
// results so far); a training stage also writes out.dir/checkpoint.bin every
// epoch. Running the command again resumes at the first unfinished stage (and
// inside it, at the last checkpointed epoch); stages already done are not re-run.
#pragma once
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "prunus/io/config.h"
#include "prunus/prune/analysis.h"
#include "prunus/train/data_setup.h"
#include "prunus/train/progress.h"
#include "prunus/train/trainer.h"

namespace prunus {
namespace app {

using namespace train;  // the app layer builds on the training library

struct PipelineOptions {
  bool analyze_only = false;             // print D and stop
  ProgressReporter* progress = nullptr;  // may be null
  std::FILE* log = stdout;               // null = silent
  int max_epochs = 0;  // > 0: stop after this many training epochs in this call, as an interruption would
  double timing_seconds = 1.0;  // least time spent timing each model's inference in the compact stage
  // Called after every optimizer step of every training phase (tests stop a run at a chosen step).
  std::function<void(const StepInfo&)> after_step;
};

struct StageResult {
  std::string stage;
  EvalResult val, test;              // test is NaN when there is no test set or it is the val set
  int64_t macs = 0, params = 0;      // after pruning the gates that are now zero (MACs per image)
};

struct PipelineResult {
  bool finished = false;             // every stage done
  std::string started_at;            // the first stage this call ran ("" when all were done before)
  prune::GraphAnalysis analysis;
  std::vector<StageResult> stages;
  double flops_reduction = 0, params_reduction = 0;  // of the final model against the dense one
  double compact_output_difference = 0;              // max relative difference, compact vs masked
  double dense_images_per_second = 0, masked_images_per_second = 0, compact_images_per_second = 0;
};

// The stages that leave a stage_<name>.bin, in order.
enum class Stage { Baseline, Sparse, Prune, Finetune, Compact };
const std::vector<Stage>& pipeline_stages();
const char* stage_name(Stage stage);  // "baseline", ...: its file stage_<name>.bin and its checkpoint phase


PipelineResult run_prune_pipeline(const io::Config& config, const DataSplits& data,
                                  const PipelineOptions& options = {});

}  // namespace app
}  // namespace prunus
