// full: the paper's method as we read it (PRUNING.md). Filter + stripe gates
// (prune.granularities may change them) under the adaptive L1; the top-up
// ranks gates within each conv (MethodPreset::top_up_ranking says why).
#include "builtin_methods.h"

namespace prunus {
namespace prune {
namespace {

class FullMethod : public PruningMethod {
 public:
  std::string name() const override { return "full"; }
  MethodPreset preset() const override {
    MethodPreset p;
    p.granularities = Granularities::parse("filter,stripe");
    p.granularities_configurable = true;
    p.top_up_ranking = GateNormalization::Layer;
    p.description = "filter + stripe gates, adaptive L1";
    return p;
  }
};

}  // namespace

std::shared_ptr<PruningMethod> make_full_method() { return std::make_shared<FullMethod>(); }

}  // namespace prune
}  // namespace prunus
