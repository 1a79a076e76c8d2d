#include "prunus/prune/baselines.h"

#include <algorithm>
#include <cmath>

#include "prunus/prune/gate_zeroing.h"
#include "prunus/prune/pruner.h"

namespace prunus {
namespace prune {

TopUp l1_norm_zero_filters(nn::Module& model, const GraphAnalysis& analysis, double target, double step) {
  PRUNUS_CHECK(target >= 0 && target < 1, "l1-norm pruning: target FLOPs reduction must be in [0, 1), got ", target);
  PRUNUS_CHECK(step > 0 && step <= 1, "l1-norm pruning: step must be in (0, 1], got ", step);
  // A plan without gates: the zeroer then only tracks live filters.
  PruneState no_gates;
  for (const ConvLayer& layer : analysis.convs) {
    ConvGates g;
    g.conv = layer.name;
    g.bn = layer.bn;
    g.in_d = layer.in_d;
    no_gates.convs.push_back(g);
  }
  no_gates.granularities = Granularities::parse("filter");
  return zero_weakest_until(model, analysis, no_gates, target, step, CandidateRanking::FilterWeightNorms);
}

L1NormPruning l1_norm_filter_prune(nn::Module& model, const GraphAnalysis& analysis, double target, double step) {
  L1NormPruning result;
  const TopUp zeroing = l1_norm_zero_filters(model, analysis, target, step);
  result.flops_reduction = zeroing.flops_reduction;
  result.reached = zeroing.reached;
  result.filters = coarse_prune(model, analysis);
  return result;
}

}  // namespace prune
}  // namespace prunus
