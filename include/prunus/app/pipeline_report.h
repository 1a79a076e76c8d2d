// The pipeline's final outputs: the prune library's report (report.md,
// report.json, report.svg) filled with the stage accuracies, the lambda0
// trace and the pruner's log, plus summary.json and a closing table on stdout.
#pragma once
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "prunus/nn/module.h"
#include "prunus/prune/analysis.h"
#include "prunus/prune/baselines.h"
#include "prunus/prune/regularizer.h"
#include "prunus/train/data_setup.h"
#include "prunus/app/pipeline_records.h"
#include "prunus/app/prune_settings.h"
#include "prunus/app/prune_pipeline.h"

namespace prunus {
namespace app {

using namespace train;  // the app layer builds on the training library

struct PipelineReportInput {
  const RunSettings& run;
  const PruneSettings& prune;  // prune.method: the method's preset as the run used it
  const DataSplits& data;
  const prune::GraphAnalysis& analysis;
  const std::vector<StageResult>& stages;
  const std::vector<prune::LambdaTraceEntry>& lambda_trace;
  const std::string& prune_log;
  const CompactTimings& compact;  // what the compact stage measured
};

// `masked`: the pruned model before compaction (what the per-layer table describes).
void write_pipeline_report(const PipelineReportInput& input, nn::Module& masked, std::FILE* log);

}  // namespace app
}  // namespace prunus
