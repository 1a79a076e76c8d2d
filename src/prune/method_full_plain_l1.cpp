// full_plain_l1: the ablation of full's penalty. The same gates and top-up,
// one constant lambda for every gate and no controller.
#include "builtin_methods.h"

namespace prunus {
namespace prune {
namespace {

class FullPlainL1Method : public PruningMethod {
 public:
  std::string name() const override { return "full_plain_l1"; }
  MethodPreset preset() const override {
    MethodPreset p;
    p.granularities = Granularities::parse("filter,stripe");
    p.granularities_configurable = true;
    p.adaptive = false;
    p.top_up_ranking = GateNormalization::Layer;  // the ablation changes the penalty only
    p.description = "filter + stripe gates, plain (constant) L1";
    return p;
  }
};

}  // namespace

std::shared_ptr<PruningMethod> make_full_plain_l1_method() { return std::make_shared<FullPlainL1Method>(); }

}  // namespace prune
}  // namespace prunus
