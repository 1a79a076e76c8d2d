// Enabling the pruning granularities on a model, and the per-conv plan of
// which are active (PruneState). The gates themselves live in the modules:
//   filter  : gamma of the BN right after a conv not in D (Network Slimming),
//             re-initialized to bn_gate_init for sparse training;
//   stripe  : Conv2d::stripe_gate [F,1,K,K];
//   channel : Conv2d::channel_gate [F,C,1,1];
//   weight  : the conv weight itself (L1 on weights, unstructured).
// The fixed structure is Conv2d::mask [F,C,K,K]; a filter of a conv not in D is
// *removed* when its mask row is all zero (the pruner then also zeroes its
// BN gamma and beta, so its channel is exactly zero).
#pragma once
#include <string>
#include <vector>

#include "prunus/optim/sgd.h"
#include "prunus/prune/analysis.h"
#include "prunus/tensor.h"

namespace prunus {
namespace nn {
class Module;
}
namespace prune {

enum class GateKind { Filter = 0, Channel = 1, Stripe = 2, Weight = 3 };
const char* gate_kind_name(GateKind kind);  // "filter", "channel", "stripe", "weight"

struct Granularities {
  bool filter = true, stripe = true, channel = false, weight = false;
  bool has(GateKind kind) const;
  // "filter,stripe" (any order, also "filter+stripe"); throws naming the bad word.
  static Granularities parse(const std::string& list);
  std::string str() const;  // "filter,stripe"
};

struct GateOptions {
  Granularities granularities;
  bool exclude_first_conv = false;        // no gates at all on the first conv
  std::vector<std::string> excluded_convs;  // no gates on these (full names)
};

// Which granularities are active on one conv.
struct ConvGates {
  std::string conv, bn;
  bool in_d = false;
  bool filter = false, stripe = false, channel = false, weight = false;
  bool has(GateKind kind) const;
};

struct PruneState {
  Granularities granularities;
  std::vector<ConvGates> convs;  // parallel to GraphAnalysis::convs
};

// Filter gates only on convs not in D that have a BN; the other kinds on
// every conv that is not excluded.
PruneState plan_gates(const GraphAnalysis& analysis, const GateOptions& options);

// Creates the stripe/channel gates the plan asks for (no-op where they exist,
// so it is safe before loading a checkpoint).
void enable_gates(nn::Module& model, const PruneState& state);
// Sets every filter gate (BN gamma) of the plan to `value` (Network Slimming's
// 0.5 at the start of sparse training).
void init_filter_gates(nn::Module& model, const PruneState& state, double value);

// One gate tensor: filter -> BN gamma [F]; stripe -> [F,1,K,K];
// channel -> [F,C,1,1]; weight -> the conv weight [F,C,K,K].
struct GateTensor {
  int conv = 0;  // index into analysis.convs / state.convs
  GateKind kind = GateKind::Filter;
  Tensor tensor;
};
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
//   conv weight <- Conv2d::mask; stripe/channel gates <- whether any weight
//   under them is unmasked; for removed filters: conv bias and the gamma/beta
//   of every BN carrying the channel.
// Parameters the optimizer does not hold are skipped.
void register_masks(optim::SGD& optimizer, nn::Module& model, const GraphAnalysis& analysis);

}  // namespace prune
}  // namespace prunus
