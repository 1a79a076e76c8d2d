// swp: stripe-wise pruning, the filter skeleton (Meng et al., NeurIPS 2020).
// Stripe gates only under a constant L1; stripes whose gate ends below 0.01
// are pruned before the top-up.
#include "builtin_methods.h"

namespace prunus {
namespace prune {
namespace {

class SwpMethod : public PruningMethod {
 public:
  std::string name() const override { return "swp"; }
  MethodPreset preset() const override {
    MethodPreset p;
    p.granularities = Granularities::parse("stripe");
    p.adaptive = false;
    p.use_thresholds = true;
    p.thresholds["stripe"] = 0.01;
    p.description = "SWP (filter skeleton): stripe gates only, plain L1, stripes below 0.01 pruned";
    return p;
  }
};

}  // namespace

std::shared_ptr<PruningMethod> make_swp_method() { return std::make_shared<SwpMethod>(); }

}  // namespace prune
}  // namespace prunus
