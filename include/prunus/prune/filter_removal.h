// Removing filters of convs not in D from the masked model, so that the
// removed channels are exactly zero and compaction can drop them without
// changing the outputs.
//
// A removed filter first becomes a constant channel: weights masked, and
// every BN carrying it gets gamma 0 and, as beta, the value it outputs for
// the channel now (eval mode; a filter whose stripes are all zero outputs
// gamma * (bias - running_mean) / std + beta, not beta). That constant reaches each
// consumer, measured on one traced eval-mode forward pass, and is folded in:
//   conv consumer, constant plane (BN beta through a ReLU, the usual case):
//     into the conv's constant_input_weight, exact everywhere, zero-padded
//     borders included (nn::add_constant_input_response);
//   conv consumer, plane not constant (an op in between treats borders
//     differently): the contribution averaged over output positions goes to
//     the running_mean of the BN after the consumer, or its bias: approximate;
//   linear consumer: into its bias, exact.
// Then the channel's BN beta (and the conv bias) are set to 0, so the channel
// is exactly zero.
#pragma once
#include <cstdint>
#include <vector>

#include "prunus/prune/analysis.h"

namespace prunus {
namespace nn {
class Module;
}
namespace prune {

struct FilterRemoval {
  int64_t filters = 0;          // filters removed by this call
  int64_t folded = 0;           // (filter, consumer) constants folded exactly
  int64_t approximate = 0;      // folded as a per-channel average (see above)
  int64_t not_foldable = 0;     // consumers with neither a BN after them nor a bias: constant dropped
};

// remove[i][f]: remove filter f of analysis.convs[i] (outer vector parallel to
// analysis.convs; an empty inner vector removes nothing). Already removed
// filters are skipped; removing filters of a conv in D, or every remaining
// filter of a conv, is refused.
FilterRemoval remove_filters(nn::Module& model, const GraphAnalysis& analysis,
                             const std::vector<std::vector<bool>>& remove);

}  // namespace prune
}  // namespace prunus
