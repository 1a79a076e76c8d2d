// Text forms of the pipeline's results, stored in its stage checkpoints so a
// resumed pipeline knows what earlier stages measured: per-stage accuracies
// and sizes, and the regularizer's lambda0 trace. Numbers are written with
// 17 significant digits, so they read back exactly.
#pragma once
#include <string>
#include <vector>

#include "prunus/io/checkpoint.h"
#include "prunus/prune/regularizer.h"
#include "prunus/train/metrics.h"
#include "prunus/app/prune_pipeline.h"

namespace prunus {
namespace app {

using namespace train;  // the app layer builds on the training library

std::string stage_results_csv(const std::vector<StageResult>& stages);
std::vector<StageResult> parse_stage_results(const std::string& text, const std::string& source);

std::string lambda_trace_csv(const std::vector<prune::LambdaTraceEntry>& trace);
std::vector<prune::LambdaTraceEntry> parse_lambda_trace(const std::string& text, const std::string& source);


// What the compact stage measured, kept in its checkpoint as "compact.*"
// strings; NaN (kNoValue) where not measured.
struct CompactTimings {
  double output_difference = kNoValue;  // max relative difference, compact vs masked
  double dense_images_per_second = kNoValue, masked_images_per_second = kNoValue,
         compact_images_per_second = kNoValue;
  void put(io::Checkpoint& checkpoint) const;
  static CompactTimings from_checkpoint(const io::Checkpoint& checkpoint);  // NaN for absent keys
};

}  // namespace app
}  // namespace prunus
