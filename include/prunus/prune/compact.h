// Compaction: the physically smaller model computing what the masked model
// computes (eval mode, within float rounding).
//   - A filter of a conv not in D is dropped when its channel is exactly zero:
//     effective weights all zero, no bias or a zero bias, and gamma = beta = 0
//     in every BN carrying it (what remove_filters leaves). Its BNs shrink and
//     its consumers lose the input channel (a conv's input channels, a linear's
//     input features, H*W of them after a flatten). Any other filter stays,
//     e.g. one that outputs a constant BN shift.
//   - Every conv is rebuilt with its gates and mask multiplied in: a dense
//     nn::Conv2d, or a StripeConv2d when at least `min_removed_stripes` of its
//     stripes (kernel positions of kept filters) are gone and the stripe
//     forward pass is modelled to take at most `max_stripe_cost` of the dense
//     one's time (kernels::stripe_forward_relative_cost): a layer whose
//     removed stripes are scattered stays dense, the faster form. A filter in D that
//     lost every stripe keeps its channel: the BN after it outputs the constant.
// The masked model is not changed. It is copied through its description
// (nn::describe / build_from_description), so a custom module type must be
// registered with nn::register_module_type first.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "prunus/nn/module.h"
#include "prunus/prune/analysis.h"

namespace prunus {
namespace prune {

struct CompactOptions {
  double min_removed_stripes = 0.1;  // in [0, 1]; 0: every conv with a removed stripe becomes stripe-sparse
  double max_stripe_cost = 0.85;     // > 0; a large value: the cost model is not asked
};

struct CompactedConv {
  std::string name;
  bool in_d = false;
  Shape before, after;           // weight shapes [F,C,K,K]
  bool stripe_sparse = false;    // rebuilt as a StripeConv2d
  int64_t stripes_kept = 0;      // over the kept filters (F'*K*K when dense)
};

struct CompactResult {
  std::shared_ptr<nn::Module> model;
  std::vector<CompactedConv> convs;  // parallel to analysis.convs
};

CompactResult compact_model(nn::Module& masked, const GraphAnalysis& analysis, const CompactOptions& options = {});

// The same architecture with fresh initial parameters, drawn under `seed` as
// the module constructors draw them (StripeConv2d: Kaiming normal with
// fan_out = its stripe count); BN statistics reset, folded constants dropped.
// The "scratch" control of a pruning comparison (Liu et al., ICLR 2019):
// is the pruned architecture, not the inherited weights, what matters?
std::shared_ptr<nn::Module> fresh_copy(nn::Module& model, uint64_t seed);

// Whether filter f of a conv not in D outputs an exactly zero channel (see above).
std::vector<bool> zero_output_filters(nn::Module& model, const ConvLayer& conv);

}  // namespace prune
}  // namespace prunus
