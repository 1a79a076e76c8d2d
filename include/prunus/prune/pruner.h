// The coarse-to-fine pruner (PRUNING.md, pipeline steps 4 and 5), acting on
// the masked model:
//   thresholds (optional): gates below a per-kind threshold become zero;
//   top-up: while the FLOPs reduction of the zero gates is below the target,
//     rank the remaining gates globally by |gate| / mean |gate| of their kind
//     (over the model, or over their own conv: GateNormalization) and zero the weakest `top_up_step` of them, then count again (a round
//     that overshoots by more than kTopUpTolerance is undone and halved);
//   coarse: remove the filters (convs not in D) whose gate is zero or whose
//     effective weights are all zero; never every filter of a conv (the
//     strongest stays);
//   fine: turn the zero gates of every fine granularity (stripe, channel, and
//     zero weights with the weight granularity) into mask zeros, in every
//     conv, D included. A filter in D
//     that lost all its stripes stays: it outputs its constant BN shift.
// Gates are zeroed so that every conv keeps at least one live filter.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "prunus/prune/analysis.h"
#include "prunus/prune/filter_removal.h"
#include "prunus/prune/gate_zeroing.h"
#include "prunus/prune/gates.h"

namespace prunus {
namespace nn {
class Module;
}
namespace prune {

struct PrunerOptions {
  double target_flops_reduction = 0.0;  // in [0,1); 0: no top-up
  double top_up_step = 0.02;            // share of the remaining gates zeroed per round
  GateNormalization top_up_ranking = GateNormalization::Kind;
  bool use_thresholds = false;          // zero gates with |gate| < threshold of their kind first
  std::map<std::string, double> thresholds;  // by granularity name; absent: 0 (the kind is not thresholded)
  double threshold(const Granularity& kind) const;
};

// How far past its FLOPs target a top-up round may land before it is undone
// and retried with half as many gates (a single gate is always accepted).
constexpr double kTopUpTolerance = 0.005;

struct TopUp {
  int rounds = 0;
  int64_t gates = 0;            // gates set to zero
  double flops_reduction = 0;   // after the last round
  bool reached = false;         // false when no gate could be zeroed any more
};

struct FinePrune {
  std::vector<int64_t> masked;  // newly masked groups, by granularity id
  int64_t of(const Granularity& kind) const;
  int64_t of(const std::string& kind) const { return of(granularity(kind)); }
};

struct PruneOutcome {
  double flops_reduction_before = 0;  // of the zero gates as sparse training left them
  double flops_reduction_after = 0;
  int64_t gates_thresholded = 0;
  TopUp top_up;
  FilterRemoval filters;              // all filters removed (coarse, and those fine pruning found dead)
  FinePrune fine;
  std::string log;                    // one line per step, for the report
};

// Zeroes gates of the kinds the plan enables whose magnitude is below the kind's
// threshold (<= 0 disables a kind). Returns how many were zeroed.
int64_t zero_gates_below(nn::Module& model, const GraphAnalysis& analysis, const PruneState& state,
                         const PrunerOptions& thresholds);
TopUp top_up(nn::Module& model, const GraphAnalysis& analysis, const PruneState& state, double target,
             double step = 0.02, GateNormalization normalization = GateNormalization::Kind);
// The loop behind top_up and the L1-norm baseline: zero the weakest `step`
// share of the candidates (the plan's gates, or filters ranked by weight
// norm), recount the FLOPs, repeat until `target` or until nothing more can
// be zeroed.
enum class CandidateRanking { Gates, FilterWeightNorms };
TopUp zero_weakest_until(nn::Module& model, const GraphAnalysis& analysis, const PruneState& state, double target,
                         double step, CandidateRanking ranking,
                         GateNormalization normalization = GateNormalization::Kind);
FilterRemoval coarse_prune(nn::Module& model, const GraphAnalysis& analysis);
// Runs coarse_prune first (so no filter of a conv outside D ends all-masked
// without its constant folded), then writes the masks; `removed` receives
// the filters that removal found.
FinePrune fine_prune(nn::Module& model, const GraphAnalysis& analysis, const PruneState& state,
                     FilterRemoval* removed = nullptr);
// The two halves of prune_model, apart so that a caller can measure the model
// in between. The first only zeroes gates (thresholds, then top-up): the
// model still computes exactly what its gates say. The second removes what
// the zero gates silence (coarse, then fine) and appends to out.log.
PruneOutcome zero_gates_for_target(nn::Module& model, const GraphAnalysis& analysis, const PruneState& state,
                                   const PrunerOptions& options);
void remove_zeroed_structures(nn::Module& model, const GraphAnalysis& analysis, const PruneState& state,
                              PruneOutcome& out);
// thresholds -> top-up -> coarse -> fine.
PruneOutcome prune_model(nn::Module& model, const GraphAnalysis& analysis, const PruneState& state,
                         const PrunerOptions& options);

}  // namespace prune
}  // namespace prunus
