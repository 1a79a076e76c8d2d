// filter: one group per output filter, gated by the gamma of the BN right
// after the conv (Network Slimming). Only on convs not in D with a BN: in D
// the filter count is fixed. A dead filter is removed, with its channel in
// every BN and consumer (filter_removal.h).
#include "builtin_granularities.h"
#include "prunus/prune/analysis.h"
#include "prunus/prune/flops.h"
#include "prunus/prune/model_access.h"

namespace prunus {
namespace prune {
namespace {

class FilterGranularity : public Granularity {
 public:
  std::string name() const override { return "filter"; }
  nn::ConvGatePattern pattern() const override { return {false, false, false}; }
  bool removes_filters() const override { return true; }
  bool applies_to(const ConvLayer& conv) const override { return !conv.in_d && !conv.bn.empty(); }
  Tensor gate(nn::Module& model, const GateSite& conv) const override {
    return conv.bn.empty() ? Tensor() : batch_norm_module(model, conv.bn)->weight;
  }
  void initialize(nn::Module& model, const GateSite& conv, double bn_gate_init) const override {
    batch_norm_module(model, conv.bn)->weight.fill_(bn_gate_init);
  }
  double structure_macs(const ModelCount& count, const GraphAnalysis& analysis, size_t conv) const override {
    double macs = double(count.convs[conv].macs);
    for (const ChannelUser& u : analysis.convs[conv].consumers)
      macs += double(u.kind == ChannelUser::Kind::Conv ? count.convs[analysis.conv_index(u.module)].macs
                                                       : count.linears[analysis.linear_index(u.module)].macs);
    return macs;
  }
};

}  // namespace

std::shared_ptr<Granularity> make_filter_granularity() { return std::make_shared<FilterGranularity>(); }

}  // namespace prune
}  // namespace prunus
