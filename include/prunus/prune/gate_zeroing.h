// Setting individual gates to zero while keeping every conv alive: the shared
// machinery of the top-up, the thresholds mode and the L1-norm baseline.
// A filter is live while it is alive in the count and still has a non-zero
// gate of every fine kind the plan gates it with (stripe, channel, weight). Zeroing the last live
// filter of a conv is refused.
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

#include "prunus/prune/analysis.h"
#include "prunus/prune/flops.h"
#include "prunus/prune/gates.h"

namespace prunus {
namespace nn {
class Module;
}
namespace prune {

// What a gate's magnitude is divided by when gates of different kinds and
// layers are ranked together: BN gammas and stripe gates live on different
// scales, and under a per-layer L1 strength so do the gates of different convs.
enum class GateNormalization {
  Kind,   // the mean magnitude of its kind over the whole model
  Layer,  // the mean magnitude of its kind in its own conv
};

struct GateCandidate {
  int conv = 0;
  const Granularity* kind = nullptr;
  int64_t index = 0;       // flat index into the gate tensor (filter: the filter)
  double magnitude = 0;    // |gate| (filter norm for filter_norm_candidates)
  double score = 0;        // magnitude / mean magnitude of its kind (model- or conv-wide)
  // index / size of its gate tensor: sorting equal scores by it interleaves
  // the layers instead of emptying the first one (gates that were never
  // trained are all equal).
  double tie_break = 0;
};
// Weakest first: by score (or magnitude), then tie_break.
void sort_weakest_first(std::vector<GateCandidate>& candidates, bool by_score);

class GateZeroer {
 public:
  GateZeroer(nn::Module& model, const GraphAnalysis& analysis, const PruneState& state);

  const ModelCount& count() const { return count_; }
  // Every non-zero gate of a live filter, of the kinds the plan enables.
  std::vector<GateCandidate> candidates(GateNormalization normalization = GateNormalization::Kind) const;
  // Every live filter of every conv not in D, by the L1 norm of its effective
  // weights, normalized by its conv's mean filter norm (Li et al.).
  std::vector<GateCandidate> filter_norm_candidates() const;
  // Zeroes the gate (a filter: its BN gamma, or its weights when it has no BN).
  // Returns false, changing nothing, when it would kill a conv's last live
  // filter or the gate is already zero / its filter is no longer live.
  bool zero(const GateCandidate& candidate);
  // Puts back every value zero() changed since this zeroer was made (the
  // top-up's way back from a round that overshot its target). The zeroer's
  // own live counts are stale afterwards: make a new one.
  void undo();

 private:
  struct ConvLive {
    std::vector<uint8_t> filter_live;
    // Per granularity id, non-zero gates per filter (empty when not gated).
    std::vector<std::vector<int64_t>> nonzero;
    int64_t live_filters = 0;
  };
  Tensor gate_tensor(int conv, const Granularity& kind) const;

  nn::Module& model_;
  const GraphAnalysis& analysis_;
  const PruneState& state_;
  ModelCount count_;
  std::vector<ConvLive> live_;
  std::vector<std::pair<float*, float>> changed_;  // (where, old value), for undo()
};

}  // namespace prune
}  // namespace prunus
