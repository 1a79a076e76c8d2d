// l1norm: one-shot L1-norm filter pruning (Li et al., ICLR 2017; baselines.h).
// No gates and no sparse training: the prune stage zeroes the weakest filters
// by weight norm to the target, then removes them.
#include <cstdio>

#include "builtin_methods.h"
#include "prunus/prune/baselines.h"

namespace prunus {
namespace prune {
namespace {

class L1NormMethod : public PruningMethod {
 public:
  std::string name() const override { return "l1norm"; }
  MethodPreset preset() const override {
    MethodPreset p;
    p.granularities = Granularities::parse("filter");
    p.sparse_training = false;
    p.adaptive = false;
    p.description = "L1-norm filter pruning (Li et al.): one-shot by weight L1 norm, no sparse training";
    return p;
  }

  PruneOutcome zero_for_target(nn::Module& model, const GraphAnalysis& analysis, const PruneState&,
                               const PrunerOptions& options) const override {
    const double target = options.target_flops_reduction;
    PRUNUS_CHECK(target > 0, "prune.method = l1norm removes filters until prune.flops_target; set it above 0");
    PruneOutcome outcome;
    outcome.top_up = l1_norm_zero_filters(model, analysis, target, options.top_up_step);
    char line[200];
    std::snprintf(line, sizeof line, "l1-norm: %lld filters zeroed, FLOPs -%.2f%%%s\n",
                  static_cast<long long>(outcome.top_up.gates), 100 * outcome.top_up.flops_reduction,
                  outcome.top_up.reached ? "" : " (target not reachable: every free conv is down to one filter)");
    outcome.log = line;
    return outcome;
  }

  void remove_zeroed(nn::Module& model, const GraphAnalysis& analysis, const PruneState&,
                     PruneOutcome& out) const override {
    out.filters = coarse_prune(model, analysis);
    out.log += "coarse: " + std::to_string(out.filters.filters) + " filters removed\n";
  }
};

}  // namespace

std::shared_ptr<PruningMethod> make_l1norm_method() { return std::make_shared<L1NormMethod>(); }

}  // namespace prune
}  // namespace prunus
