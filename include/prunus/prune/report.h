// The pruning report: per-layer table (weight shape before/after, params,
// MACs, share of the dense weights removed by each granularity, D or not),
// totals, accuracy at each stage, the lambda0 trace and notes, as markdown and
// JSON, plus an SVG bar plot of the MACs kept per layer (written by hand).
// MACs follow PRUNING.md: multiply-accumulates of convs and linear layers for
// one image; params count every learnable tensor except the gates.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "prunus/prune/analysis.h"
#include "prunus/prune/flops.h"
#include "prunus/prune/regularizer.h"

namespace prunus {
namespace prune {

struct StageAccuracy {
  std::string stage;  // "baseline", "sparse training", "pruned", "fine-tuned", ...
  double top1 = 0;    // in [0, 1]
};

struct PruneReport {
  std::string title;
  std::string model;                  // e.g. "resnet56"
  std::string method;                 // e.g. "full (filter + stripe gates, adaptive L1)"
  GraphAnalysis analysis;
  ModelCount count;                   // of the pruned (masked) model
  std::vector<StageAccuracy> accuracy;
  std::vector<LambdaTraceEntry> lambda_trace;
  std::vector<std::string> notes;     // free lines: the pruner's log, timings, ...
};

// Builds the report's structural part from the pruned masked model.
PruneReport make_report(nn::Module& pruned, const GraphAnalysis& analysis, const std::string& model_name,
                        const std::string& method);

std::string report_markdown(const PruneReport& report);
std::string report_json(const PruneReport& report);
std::string report_svg(const PruneReport& report);  // MACs kept per layer

// Writes <prefix>.md, <prefix>.json and <prefix>.svg; throws naming a file
// that cannot be written.
void write_report(const PruneReport& report, const std::string& prefix);

}  // namespace prune
}  // namespace prunus
