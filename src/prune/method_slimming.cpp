// slimming: Network Slimming (Liu et al., ICCV 2017). Filter gates only, the
// BN gammas, under a constant L1; the top-up ranks them model-wide.
#include "builtin_methods.h"

namespace prunus {
namespace prune {
namespace {

class SlimmingMethod : public PruningMethod {
 public:
  std::string name() const override { return "slimming"; }
  MethodPreset preset() const override {
    MethodPreset p;
    p.granularities = Granularities::parse("filter");
    p.adaptive = false;
    p.description = "Network Slimming: filter gates (BN gamma) only, plain L1";
    return p;
  }
};

}  // namespace

std::shared_ptr<PruningMethod> make_slimming_method() { return std::make_shared<SlimmingMethod>(); }

}  // namespace prune
}  // namespace prunus
