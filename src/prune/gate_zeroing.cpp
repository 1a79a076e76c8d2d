#include "prunus/prune/gate_zeroing.h"

#include <algorithm>
#include <cmath>

#include "prunus/autograd.h"
#include "prunus/prune/model_access.h"

namespace prunus {
namespace prune {
namespace {

// Gate elements per filter of a gate tensor of that kind.
int64_t per_filter(const ConvLayer& layer, const Granularity& kind) {
  return groups_per_filter(kind.pattern(), layer.in_channels, layer.kernel);
}

std::vector<int64_t> nonzero_per_filter(const Tensor& t, int64_t filters) {
  std::vector<int64_t> counts(filters, 0);
  const float* v = f32_data(t, "gate tensor");
  const int64_t row = t.numel() / filters;
  for (int64_t f = 0; f < filters; ++f)
    for (int64_t i = f * row; i < (f + 1) * row; ++i) counts[f] += v[i] != 0.0f;
  return counts;
}

}  // namespace

void sort_weakest_first(std::vector<GateCandidate>& candidates, bool by_score) {
  std::stable_sort(candidates.begin(), candidates.end(), [by_score](const GateCandidate& a, const GateCandidate& b) {
    const double ka = by_score ? a.score : a.magnitude, kb = by_score ? b.score : b.magnitude;
    return ka < kb || (ka == kb && a.tie_break < b.tie_break);
  });
}

GateZeroer::GateZeroer(nn::Module& model, const GraphAnalysis& analysis, const PruneState& state)
    : model_(model), analysis_(analysis), state_(state), count_(count_model(model, analysis)) {
  PRUNUS_CHECK(state.convs.size() == analysis.convs.size(),
               "prune: the prune state and the analysis describe different models");
  live_.resize(analysis.convs.size());
  for (size_t i = 0; i < analysis.convs.size(); ++i) {
    const int64_t F = analysis.convs[i].out_channels;
    ConvLive& live = live_[i];
    live.filter_live = count_.convs[i].filter_alive;
    // Convs in D count every filter alive; a filter without live weights is not live here.
    auto conv = conv_module(model, analysis.convs[i].name);
    for (int64_t f = 0; f < F; ++f)
      if (count_.convs[i].nonzero_weights[f] == 0) live.filter_live[f] = 0;
    const ConvGates& g = state.convs[i];
    live.nonzero.resize(granularities().size());
    for (const Granularity* kind : g.kinds.list) {
      if (kind->removes_filters()) continue;
      const Tensor gate = kind->gate(model, g);
      if (gate.defined()) live.nonzero[kind->id()] = nonzero_per_filter(gate, F);
    }
    for (int64_t f = 0; f < F; ++f) {
      for (const auto& counts : live.nonzero)
        if (!counts.empty() && counts[f] == 0) live.filter_live[f] = 0;
      live.live_filters += live.filter_live[f];
    }
  }
}

Tensor GateZeroer::gate_tensor(int conv_index, const Granularity& kind) const {
  const ConvLayer& layer = analysis_.convs[conv_index];
  // A filter of a conv without BN has no gate: its weights are what zero() sets to zero.
  if (kind.removes_filters() && layer.bn.empty()) return conv_module(model_, layer.name)->weight;
  return kind.gate(model_, state_.convs[conv_index]);
}

std::vector<GateCandidate> GateZeroer::candidates(GateNormalization normalization) const {
  std::vector<GateCandidate> result;
  // Sum and count of magnitudes per (conv, kind); the model-wide mean adds the convs up.
  const size_t convs = analysis_.convs.size(), kinds = granularities().size();
  std::vector<double> sum(convs * kinds, 0.0);
  std::vector<int64_t> n(convs * kinds, 0);
  for (size_t i = 0; i < convs; ++i) {
    const ConvGates& g = state_.convs[i];
    for (const Granularity* kind : g.kinds.list) {
      const Tensor t = gate_tensor(int(i), *kind);
      if (!t.defined()) continue;
      const float* v = f32_data(t, "gate tensor");
      const int64_t row = per_filter(analysis_.convs[i], *kind);
      for (int64_t j = 0; j < t.numel(); ++j) {
        if (v[j] == 0.0f || !live_[i].filter_live[j / row]) continue;
        GateCandidate c;
        c.conv = int(i);
        c.kind = kind;
        c.index = j;
        c.magnitude = std::abs(double(v[j]));
        c.tie_break = double(j) / double(t.numel());
        sum[i * kinds + kind->id()] += c.magnitude;
        ++n[i * kinds + kind->id()];
        result.push_back(c);
      }
    }
  }
  if (normalization == GateNormalization::Kind)
    for (size_t kind = 0; kind < kinds; ++kind) {
      double total = 0;
      int64_t count = 0;
      for (size_t i = 0; i < convs; ++i) {
        total += sum[i * kinds + kind];
        count += n[i * kinds + kind];
      }
      for (size_t i = 0; i < convs; ++i) {
        sum[i * kinds + kind] = total;
        n[i * kinds + kind] = count;
      }
    }
  for (GateCandidate& c : result) {
    const size_t k = size_t(c.conv) * kinds + size_t(c.kind->id());
    c.score = c.magnitude / (sum[k] / double(n[k]));
  }
  return result;
}

std::vector<GateCandidate> GateZeroer::filter_norm_candidates() const {
  std::vector<GateCandidate> result;
  for (size_t i = 0; i < analysis_.convs.size(); ++i) {
    const ConvLayer& layer = analysis_.convs[i];
    if (layer.in_d) continue;
    auto conv = conv_module(model_, layer.name);
    NoGradGuard no_grad;
    const Tensor eff = conv->effective_weight().detach();
    const float* w = f32_data(eff, "weight of conv '" + layer.name + "'");
    const int64_t row = eff.numel() / layer.out_channels;
    const size_t first = result.size();
    double sum = 0;
    for (int64_t f = 0; f < layer.out_channels; ++f) {
      if (!live_[i].filter_live[f]) continue;
      double norm = 0;
      for (int64_t k = f * row; k < (f + 1) * row; ++k) norm += std::abs(double(w[k]));
      GateCandidate c;
      c.conv = int(i);
      c.kind = &granularity("filter");
      c.index = f;
      c.magnitude = norm;
      c.tie_break = double(f) / double(layer.out_channels);
      sum += norm;
      result.push_back(c);
    }
    const double mean = sum / double(std::max<size_t>(result.size() - first, 1));
    for (size_t k = first; k < result.size(); ++k) result[k].score = mean > 0 ? result[k].magnitude / mean : 0.0;
  }
  return result;
}

bool GateZeroer::zero(const GateCandidate& c) {
  PRUNUS_CHECK(c.conv >= 0 && size_t(c.conv) < analysis_.convs.size(), "prune: gate candidate of conv ", c.conv,
               " out of range");
  const ConvLayer& layer = analysis_.convs[c.conv];
  ConvLive& live = live_[c.conv];
  PRUNUS_CHECK(c.kind, "prune: gate candidate without a granularity");
  const bool filter_level = c.kind->removes_filters();
  const int64_t f = c.index / per_filter(layer, *c.kind);
  if (f < 0 || f >= layer.out_channels || !live.filter_live[f]) return false;
  std::vector<int64_t>* counts =
      !filter_level && size_t(c.kind->id()) < live.nonzero.size() ? &live.nonzero[c.kind->id()] : nullptr;
  const bool kills = filter_level || (counts && !counts->empty() && (*counts)[f] == 1);
  if (kills && live.live_filters <= 1) return false;
  const Tensor t = gate_tensor(c.conv, *c.kind);
  float* v = f32_data(t, "gate tensor");
  if (filter_level && layer.bn.empty()) {
    // No BN to gate it: the filter's weights go to zero.
    const int64_t row = t.numel() / layer.out_channels;
    for (int64_t k = f * row; k < (f + 1) * row; ++k) {
      changed_.emplace_back(&v[k], v[k]);
      v[k] = 0.0f;
    }
  } else {
    if (v[c.index] == 0.0f) return false;
    changed_.emplace_back(&v[c.index], v[c.index]);
    v[c.index] = 0.0f;
    if (counts && !counts->empty()) --(*counts)[f];
  }
  if (kills) {
    live.filter_live[f] = 0;
    --live.live_filters;
  }
  return true;
}

void GateZeroer::undo() {
  for (auto it = changed_.rbegin(); it != changed_.rend(); ++it) *it->first = it->second;
  changed_.clear();
}

}  // namespace prune
}  // namespace prunus
