// weight: unstructured, one group per weight; the gate is the conv weight
// itself (L1 on the weights). Last in fine_order: what no coarser granularity
// removed and is still non-zero is an alive weight.
#include "builtin_granularities.h"
#include "prunus/prune/analysis.h"
#include "prunus/prune/model_access.h"

namespace prunus {
namespace prune {
namespace {

class WeightGranularity : public Granularity {
 public:
  std::string name() const override { return "weight"; }
  nn::ConvGatePattern pattern() const override { return {true, true, true}; }
  int fine_order() const override { return 1000; }
  Tensor gate(nn::Module& model, const GateSite& conv) const override { return conv_module(model, conv.conv)->weight; }
  bool gate_is_weight() const override { return true; }
};

}  // namespace

std::shared_ptr<Granularity> make_weight_granularity() { return std::make_shared<WeightGranularity>(); }

}  // namespace prune
}  // namespace prunus
