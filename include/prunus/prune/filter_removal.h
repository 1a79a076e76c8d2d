// Removing filters of convs not in D from the masked model, so that the
// removed channels are exactly zero and compaction can drop them without
// changing the outputs.
//
// A removed filter first becomes a constant channel (weights masked, BN gamma
// 0: every BN carrying it outputs its beta). That constant reaches each
// consumer; its contribution is measured on one traced eval-mode forward pass
// and folded into the consumer: subtracted from the running_mean of the BN
// right after a consumer conv (or added to the conv's bias), added to a linear
// consumer's bias. A consumer conv with padding sees the constant only in the
// interior of its window at the borders, so the fold uses the contribution
// averaged over the output positions: the best single value per output
// channel, exact for 1x1 consumers and linears; in training mode a BN after the
// consumer subtracts any per-channel constant anyway. Then the channel's BN
// beta (and the conv bias) are set to 0, so the channel is exactly zero.
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
  int64_t folded = 0;           // (filter, consumer) constants folded
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
