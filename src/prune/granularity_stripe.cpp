// stripe: one group per filter and kernel position, W[f,:,i,j] (SWP's filter
// skeleton), gated by Conv2d::gate("stripe") [F,1,K,K]. Applied to every
// conv, D included; compaction turns stripe-sparse convs into StripeConv2d
// (compact.cpp).
#include "builtin_granularities.h"
#include "prunus/kernels/stripe_conv.h"
#include "prunus/prune/compact.h"
#include "prunus/prune/stripe_conv2d.h"

namespace prunus {
namespace prune {
namespace {

class StripeGranularity : public ConvGateGranularity {
 public:
  std::string name() const override { return "stripe"; }
  nn::ConvGatePattern pattern() const override { return {false, true, true}; }
  int fine_order() const override { return 10; }
  bool alive_count_in_report() const override { return true; }

  // Stripe-sparse where enough stripes went and the grouped GEMMs are modelled cheaper than the dense conv.
  std::shared_ptr<nn::Module> compact_conv(const ThinConv& conv, const CompactOptions& options,
                                           CompactedConv& info) const override {
    const Tensor& w = conv.weight;
    const int64_t F = w.size(0), C = w.size(1), K = w.size(2), KK = K * K;
    // The weight itself as the mask: a stripe is kept where any of its weights is non-zero (as from_dense keeps them).
    const kernels::StripeConvLayout layout =
        kernels::stripe_layout_from_mask(int(C), int(F), int(K), conv.stride, conv.padding, w.f32());
    const int64_t kept = layout.kept_stripes();
    const double removed = 1.0 - double(kept) / double(F * KK);
    if (kept == F * KK || removed < options.min_removed_stripes ||
        kernels::stripe_forward_relative_cost(layout) > options.max_stripe_cost)
      return nullptr;
    auto m = StripeConv2d::from_dense(w, conv.bias, conv.stride, conv.padding);
    if (conv.constant_input.defined()) m->constant_input_weight = conv.constant_input;
    info.stripe_sparse = true;
    info.stripes_kept = m->stripes();
    return m;
  }
};

}  // namespace

std::shared_ptr<Granularity> make_stripe_granularity() { return std::make_shared<StripeGranularity>(); }

}  // namespace prune
}  // namespace prunus
