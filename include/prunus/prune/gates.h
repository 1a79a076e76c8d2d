// Enabling the pruning granularities on a model, and the per-conv plan of
// which are active (PruneState). The gates live in the modules; where, each
// granularity says (prune/granularity.h): filter -> the BN gamma, stripe and
// channel -> Conv2d::gate(kind), weight -> the conv weight itself.
// The fixed structure is Conv2d::mask [F,C,K,K]; a filter of a conv not in D is
// *removed* when its mask row is all zero (the pruner then also zeroes its
// BN gamma and beta, so its channel is exactly zero).
#pragma once
#include <string>
#include <vector>

#include "prunus/optim/sgd.h"
#include "prunus/prune/analysis.h"
#include "prunus/prune/granularity.h"
#include "prunus/tensor.h"

namespace prunus {
namespace nn {
class Module;
}
namespace prune {

// A set of registered granularities, kept in registry order.
struct Granularities {
  Granularities();  // filter, stripe
  std::vector<const Granularity*> list;
  bool has(const Granularity& g) const;
  void add(const Granularity& g);
  // "filter,stripe" (any order, also "filter+stripe"); throws naming the bad word.
  static Granularities parse(const std::string& list);
  std::string str() const;  // "filter,stripe"; "none" when empty
};

struct GateOptions {
  Granularities granularities;
  bool exclude_first_conv = false;        // no gates at all on the first conv
  std::vector<std::string> excluded_convs;  // no gates on these (full names)
};

// Which granularities are active on one conv.
struct ConvGates : GateSite {
  ConvGates() { kinds.list.clear(); }
  Granularities kinds;  // the active ones on this conv (possibly none)
  bool has(const Granularity& g) const { return kinds.has(g); }
};

struct PruneState {
  Granularities granularities;
  std::vector<ConvGates> convs;  // parallel to GraphAnalysis::convs
};

// Each kind on every conv that is not excluded and that it applies_to()
// (filter gates: only convs not in D that have a BN).
PruneState plan_gates(const GraphAnalysis& analysis, const GateOptions& options);

// Creates the gates the plan asks for (no-op where they exist, so it is safe
// before loading a checkpoint).
void enable_gates(nn::Module& model, const PruneState& state);
// Sets the gates of the plan to their starting values for sparse training
// (Granularity::initialize: the filter gates, BN gammas, to bn_gate_init).
void initialize_gates(nn::Module& model, const PruneState& state, double bn_gate_init);

// One gate tensor: filter -> BN gamma [F]; stripe -> [F,1,K,K];
// channel -> [F,C,1,1]; weight -> the conv weight [F,C,K,K]; in general the
// granularity's pattern.
struct GateTensor {
  int conv = 0;  // index into analysis.convs / state.convs
  const Granularity* kind = nullptr;
  Tensor tensor;
};
// Per conv, in registry order.
std::vector<GateTensor> gate_tensors(nn::Module& model, const PruneState& state);

// Two groups for optim::SGD: "weights" (everything but the gates, with
// weight_decay) and "gates" (stripe/channel gates, no weight decay). The
// "gates" group is omitted when the model has none.
std::vector<optim::ParamGroup> parameter_groups(nn::Module& model, double weight_decay, double momentum = 0.9,
                                                bool nesterov = false);

// Filters of a conv not in D whose mask row is all zero (removed by the pruner).
std::vector<bool> removed_filters(nn::Module& model, const ConvLayer& conv);

// The filter "keep the strongest" keeps when every filter of a conv would go:
// the highest |gamma| * |W_f|_1 (|W_f|_1 alone without a BN), then the highest
// |W_f|_1; filters marked in `exclude` are skipped. -1 if all are excluded.
int64_t strongest_filter(nn::Module& model, const ConvLayer& conv, const std::vector<bool>& exclude);

// Registers with the optimizer every mask the pruned structure implies, so
// masked values, their gradients and momentum stay exactly zero:
//   conv weight <- Conv2d::mask; each conv gate <- whether any weight
//   under them is unmasked; for removed filters: conv bias and the gamma/beta
//   of every BN carrying the channel.
// Parameters the optimizer does not hold are skipped.
void register_masks(optim::SGD& optimizer, nn::Module& model, const GraphAnalysis& analysis);

}  // namespace prune
}  // namespace prunus
