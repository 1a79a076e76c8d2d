// L1-norm filter pruning (Li et al., ICLR 2017), the one baseline that is not
// a preset of the gate machinery: no sparse training; filters of convs not in
// D are ranked by the L1 norm of their weights (normalized by their conv's
// mean) and removed, weakest first, until the FLOPs target. The method
// l1norm (method_l1norm.cpp) runs it in the prune stage.
#pragma once
#include "prunus/prune/pruner.h"
#include <string>
#include <vector>

#include "prunus/prune/analysis.h"
#include "prunus/prune/filter_removal.h"
#include "prunus/prune/gates.h"
#include "prunus/prune/method.h"

namespace prunus {
namespace nn {
class Module;
}
namespace prune {

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
