#include "prunus/prune/baselines.h"

#include <algorithm>
#include <cmath>

#include "prunus/prune/gate_zeroing.h"
#include "prunus/prune/pruner.h"

namespace prunus {
namespace prune {

// The spelling of prune.method and compare.methods (the config schema is tested against this list).
std::vector<std::string> method_names() { return {"full", "slimming", "swp", "l1norm", "full_plain_l1"}; }

MethodPreset method_preset(const std::string& name) {
  MethodPreset p;
  p.name = name;
  if (name == "full") {
    p.method = Method::Full;
    p.granularities = Granularities::parse("filter,stripe");
    p.top_up_ranking = GateNormalization::Layer;
    p.description = "filter + stripe gates, adaptive L1";
  } else if (name == "full_plain_l1") {
    p.method = Method::FullPlainL1;
    p.granularities = Granularities::parse("filter,stripe");
    p.adaptive = false;
    p.top_up_ranking = GateNormalization::Layer;  // the ablation changes the penalty only
    p.description = "filter + stripe gates, plain (constant) L1";
  } else if (name == "slimming") {
    p.method = Method::NetworkSlimming;
    p.granularities = Granularities::parse("filter");
    p.adaptive = false;
    p.description = "Network Slimming: filter gates (BN gamma) only, plain L1";
  } else if (name == "swp") {
    p.method = Method::Swp;
    p.granularities = Granularities::parse("stripe");
    p.adaptive = false;
    p.use_thresholds = true;
    p.stripe_threshold = 0.01;
    p.description = "SWP (filter skeleton): stripe gates only, plain L1, stripes below 0.01 pruned";
  } else if (name == "l1norm") {
    p.method = Method::L1Norm;
    p.granularities = Granularities::parse("filter");
    p.sparse_training = false;
    p.adaptive = false;
    p.description = "L1-norm filter pruning (Li et al.): one-shot by weight L1 norm, no sparse training";
  } else {
    std::string names;
    for (const auto& n : method_names()) names += (names.empty() ? "" : ", ") + n;
    PRUNUS_FAIL("prune.method '", name, "' is unknown; expected one of ", names);
  }
  return p;
}

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
