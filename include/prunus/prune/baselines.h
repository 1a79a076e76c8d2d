// The methods the pipeline runs for comparison at equal FLOPs (PRUNING.md),
// as presets of the same machinery, plus the one-shot L1-norm filter pruning
// of Li et al. (no sparse training).
//   full           filter + stripe gates, adaptive L1 (the paper's method, our reading)
//   full_plain_l1  filter + stripe gates, constant lambda (the ablation)
//   slimming       filter gates only (BN gamma), constant lambda (Network Slimming)
//   swp            stripe gates only, constant lambda, stripes below 0.01 pruned (SWP)
//   l1norm         no sparse training: filters of convs not in D ranked by the
//                  L1 norm of their weights (normalized by their conv's mean)
//                  and removed, weakest first, until the FLOPs target
// With a FLOPs target, every method except l1norm is topped up to it by the pruner.
#pragma once
#include "prunus/prune/pruner.h"
#include <string>
#include <vector>

#include "prunus/prune/analysis.h"
#include "prunus/prune/filter_removal.h"
#include "prunus/prune/gates.h"

namespace prunus {
namespace nn {
class Module;
}
namespace prune {

enum class Method { Full, FullPlainL1, NetworkSlimming, Swp, L1Norm };

struct MethodPreset {
  Method method = Method::Full;
  std::string name;
  Granularities granularities;
  bool sparse_training = true;   // false: prune the trained model directly
  bool adaptive = true;          // adaptive L1, or constant lambda
  bool use_thresholds = false;   // prune gates below a threshold before the top-up
  double stripe_threshold = 0.0;
  // The top-up's ranking when prune.topup_ranking = auto. Ours: within each
  // conv, since the adaptive penalty makes the gates of high-MAC convs small,
  // and a model-wide ranking then empties those convs first (R20 -70%: 77.75%
  // val with kind, 86.90% with layer). The baselines keep their papers'
  // global ranking.
  GateNormalization top_up_ranking = GateNormalization::Kind;
  std::string description;
};

// name in method_names(); throws listing them otherwise.
MethodPreset method_preset(const std::string& name);
std::vector<std::string> method_names();

struct L1NormPruning {
  FilterRemoval filters;
  double flops_reduction = 0;
  bool reached = false;  // false when every free conv is down to one filter
};

// One-shot: zero the weakest `step` share of the live filters (BN gamma, or
// the weights of a conv without BN), count, repeat until `target`; then remove
// them (constants folded, see filter_removal.h).
L1NormPruning l1_norm_filter_prune(nn::Module& model, const GraphAnalysis& analysis, double target,
                                   double step = 0.02);
// Its first half: only the zeroing (the pipeline recalibrates BN before removing).
TopUp l1_norm_zero_filters(nn::Module& model, const GraphAnalysis& analysis, double target, double step = 0.02);

}  // namespace prune
}  // namespace prunus
