#include "prunus/prune/pruner.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <utility>

#include "prunus/prune/flops.h"
#include "prunus/prune/gate_zeroing.h"
#include "prunus/prune/model_access.h"

namespace prunus {
namespace prune {
double PrunerOptions::threshold(const Granularity& kind) const {
  const auto it = thresholds.find(kind.name());
  return it == thresholds.end() ? 0.0 : it->second;
}

int64_t FinePrune::of(const Granularity& kind) const {
  return size_t(kind.id()) < masked.size() ? masked[kind.id()] : 0;
}

int64_t zero_gates_below(nn::Module& model, const GraphAnalysis& analysis, const PruneState& state,
                         const PrunerOptions& thresholds) {
  GateZeroer zeroer(model, analysis, state);
  std::vector<GateCandidate> candidates = zeroer.candidates();
  sort_weakest_first(candidates, /*by_score=*/false);
  int64_t zeroed = 0;
  for (const GateCandidate& c : candidates)
    if (c.magnitude < thresholds.threshold(*c.kind) && zeroer.zero(c)) ++zeroed;
  return zeroed;
}

TopUp zero_weakest_until(nn::Module& model, const GraphAnalysis& analysis, const PruneState& state, double target,
                         double step, CandidateRanking ranking, GateNormalization normalization) {
  TopUp result;
  for (;;) {
    GateZeroer zeroer(model, analysis, state);
    result.flops_reduction = zeroer.count().flops_reduction();
    if (result.flops_reduction >= target) {
      result.reached = true;
      break;
    }
    std::vector<GateCandidate> candidates =
        ranking == CandidateRanking::Gates ? zeroer.candidates(normalization) : zeroer.filter_norm_candidates();
    sort_weakest_first(candidates, /*by_score=*/true);
    int64_t quota = std::max<int64_t>(1, int64_t(std::ceil(step * double(candidates.size()))));
    // A round that would overshoot the target by more than the tolerance is
    // undone and tried again with half the quota: methods compared at one
    // FLOPs target must land on it, not somewhere past it.
    for (;;) {
      GateZeroer round(model, analysis, state);
      int64_t zeroed = 0;
      for (const GateCandidate& c : candidates) {
        if (zeroed >= quota) break;
        if (round.zero(c)) ++zeroed;
      }
      if (zeroed == 0) return result;  // every conv is down to its last live filter
      const double reached = count_model(model, analysis).flops_reduction();
      if (quota > 1 && reached > target + kTopUpTolerance) {
        round.undo();
        quota /= 2;
        continue;
      }
      result.gates += zeroed;
      ++result.rounds;
      break;
    }
  }
  return result;
}

TopUp top_up(nn::Module& model, const GraphAnalysis& analysis, const PruneState& state, double target, double step,
             GateNormalization normalization) {
  PRUNUS_CHECK(target >= 0 && target < 1, "prune top-up: target FLOPs reduction must be in [0, 1), got ", target);
  PRUNUS_CHECK(step > 0 && step <= 1, "prune top-up: step must be in (0, 1], got ", step);
  return zero_weakest_until(model, analysis, state, target, step, CandidateRanking::Gates, normalization);
}

FilterRemoval coarse_prune(nn::Module& model, const GraphAnalysis& analysis) {
  const ModelCount count = count_model(model, analysis);
  std::vector<std::vector<bool>> remove(analysis.convs.size());
  for (size_t i = 0; i < analysis.convs.size(); ++i) {
    const ConvLayer& layer = analysis.convs[i];
    if (layer.in_d) continue;
    const std::vector<bool> already = removed_filters(model, layer);
    const auto& alive = count.convs[i].filter_alive;
    remove[i].assign(layer.out_channels, false);
    for (int64_t f = 0; f < layer.out_channels; ++f) remove[i][f] = !already[f] && !alive[f];
    // The count keeps the strongest filter of a conv whose filters are all
    // dead alive; checked here too, against a count made elsewhere.
    if (std::find(remove[i].begin(), remove[i].end(), false) == remove[i].end()) {
      const int64_t strongest = strongest_filter(model, layer, already);
      if (strongest >= 0) remove[i][strongest] = false;  // never every filter
    }
  }
  return remove_filters(model, analysis, remove);
}

FinePrune fine_prune(nn::Module& model, const GraphAnalysis& analysis, const PruneState& state,
                     FilterRemoval* removed) {
  const FilterRemoval dead = coarse_prune(model, analysis);
  if (removed) *removed = dead;
  FinePrune result;
  result.masked.assign(granularities().size(), 0);
  const std::vector<const Granularity*> fine = fine_granularities();
  for (size_t i = 0; i < analysis.convs.size(); ++i) {
    const ConvLayer& layer = analysis.convs[i];
    auto conv = conv_module(model, layer.name);
    const int64_t F = layer.out_channels, C = layer.in_channels, K = layer.kernel, row_size = C * K * K;
    // The gates fine pruning reads: every defined conv gate, and the weight
    // itself where the plan gates it.
    std::vector<std::pair<const Granularity*, const float*>> gates;
    for (const Granularity* kind : fine) {
      if (kind->gate_is_weight() && !state.convs[i].has(*kind)) continue;
      const Tensor gate = kind->gate(model, state.convs[i]);
      if (gate.defined()) gates.emplace_back(kind, f32_data(gate, kind->name() + " gate of '" + layer.name + "'"));
    }
    if (gates.empty()) continue;
    conv->enable_mask();
    float* mask = f32_data(conv->mask, "mask of conv '" + layer.name + "'");
    const std::vector<bool> removed = removed_filters(model, layer);
    std::vector<float> row(row_size);
    std::vector<int64_t> newly_masked(gates.size());
    for (int64_t f = 0; f < F; ++f) {
      if (removed[f]) continue;
      float* m = mask + f * row_size;
      std::copy(m, m + row_size, row.begin());
      for (size_t g = 0; g < gates.size(); ++g) {
        const nn::ConvGatePattern pattern = gates[g].first->pattern();
        const float* gate = gates[g].second;
        std::vector<uint8_t> changed(groups_per_filter(pattern, C, K), 0);
        const int64_t first_group = f * int64_t(changed.size());
        for (int64_t c = 0; c < C; ++c)
          for (int64_t y = 0; y < K; ++y)
            for (int64_t x = 0; x < K; ++x) {
              const int64_t group = group_index(pattern, C, K, f, c, y, x);
              if (gate[group] != 0.0f) continue;
              changed[group - first_group] |= std::exchange(row[(c * K + y) * K + x], 0.0f) != 0.0f;
            }
        newly_masked[g] = std::count(changed.begin(), changed.end(), uint8_t(1));
      }
      // A filter outside D with nothing left is removed by coarse_prune, except
      // the one it keeps so that the conv is not empty: its row stays as it is
      // (its zero gates already silence it), so it is not taken for removed.
      if (!layer.in_d && std::all_of(row.begin(), row.end(), [](float v) { return v == 0.0f; })) continue;
      std::copy(row.begin(), row.end(), m);
      for (size_t g = 0; g < gates.size(); ++g) result.masked[gates[g].first->id()] += newly_masked[g];
    }
  }
  return result;
}

PruneOutcome zero_gates_for_target(nn::Module& model, const GraphAnalysis& analysis, const PruneState& state,
                                   const PrunerOptions& options) {
  PRUNUS_CHECK(options.target_flops_reduction >= 0 && options.target_flops_reduction < 1,
               "prune: target FLOPs reduction must be in [0, 1), got ", options.target_flops_reduction);
  PruneOutcome out;
  std::ostringstream log;
  out.flops_reduction_before = flops_reduction(model, analysis);
  log << "zero gates after sparse training: FLOPs -" << 100 * out.flops_reduction_before << "%\n";
  if (options.use_thresholds) {
    out.gates_thresholded = zero_gates_below(model, analysis, state, options);
    log << "thresholds (";
    for (const Granularity* kind : granularities())
      log << (kind->id() ? ", " : "") << kind->name() << " " << options.threshold(*kind);
    log << "): " << out.gates_thresholded << " gates zeroed, FLOPs -" << 100 * flops_reduction(model, analysis) << "%\n";
  }
  if (options.target_flops_reduction > 0) {
    out.top_up = top_up(model, analysis, state, options.target_flops_reduction, options.top_up_step,
                        options.top_up_ranking);
    log << "top-up to -" << 100 * options.target_flops_reduction << "% (gates ranked within their "
        << (options.top_up_ranking == GateNormalization::Layer ? "conv" : "kind") << "): " << out.top_up.gates << " gates in "
        << out.top_up.rounds << " rounds, FLOPs -" << 100 * out.top_up.flops_reduction << "%"
        << (out.top_up.reached ? "" : " (target not reachable: every conv is down to one filter)") << "\n";
  }
  out.log = log.str();
  return out;
}

void remove_zeroed_structures(nn::Module& model, const GraphAnalysis& analysis, const PruneState& state,
                              PruneOutcome& out) {
  FilterRemoval coarse = coarse_prune(model, analysis);
  FilterRemoval late;
  out.fine = fine_prune(model, analysis, state, &late);
  out.filters.filters = coarse.filters + late.filters;
  out.filters.folded = coarse.folded + late.folded;
  out.filters.approximate = coarse.approximate + late.approximate;
  out.filters.not_foldable = coarse.not_foldable + late.not_foldable;
  out.flops_reduction_after = flops_reduction(model, analysis);
  std::ostringstream log;
  log << "coarse: " << out.filters.filters << " filters removed (" << out.filters.folded
      << " constants folded exactly into consumers, " << out.filters.approximate << " as per-channel averages, "
      << out.filters.not_foldable << " without a BN or bias to fold into)\n";
  log << "fine: ";
  const std::vector<const Granularity*> fine = fine_granularities();
  for (size_t g = 0; g < fine.size(); ++g) log << (g ? ", " : "") << out.fine.of(*fine[g]) << " " << fine[g]->plural();
  log << " masked; FLOPs -" << 100 * out.flops_reduction_after << "%\n";
  out.log += log.str();
}

PruneOutcome prune_model(nn::Module& model, const GraphAnalysis& analysis, const PruneState& state,
                         const PrunerOptions& options) {
  PruneOutcome out = zero_gates_for_target(model, analysis, state, options);
  remove_zeroed_structures(model, analysis, state, out);
  return out;
}

}  // namespace prune
}  // namespace prunus
