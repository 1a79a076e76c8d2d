#include "prunus/prune/gates.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <unordered_set>

#include "prunus/prune/model_access.h"

namespace prunus {
namespace prune {

Granularities::Granularities() {
  add(granularity("filter"));
  add(granularity("stripe"));
}

bool Granularities::has(const Granularity& g) const { return std::find(list.begin(), list.end(), &g) != list.end(); }

void Granularities::add(const Granularity& g) {
  if (has(g)) return;
  list.push_back(&g);
  std::sort(list.begin(), list.end(), [](const Granularity* x, const Granularity* y) { return x->id() < y->id(); });
}

Granularities Granularities::parse(const std::string& text) {
  Granularities g;
  g.list.clear();
  std::string word;
  auto take = [&](const std::string& w) {
    if (w.empty()) return;
    const Granularity* found = find_granularity(w);
    PRUNUS_CHECK(found, "prune granularities '", text, "': unknown granularity '", w, "'; expected a list of ",
                 granularity_names(), " (e.g. \"filter,stripe\")");
    g.add(*found);
  };
  for (char c : text) {
    if (c == ',' || c == '+' || c == ' ') {
      take(word);
      word.clear();
    } else {
      word += c;
    }
  }
  take(word);
  PRUNUS_CHECK(!g.list.empty(), "prune granularities '", text, "': name at least one of ", granularity_names());
  return g;
}

std::string Granularities::str() const {
  std::string s;
  for (const Granularity* g : list) s += (s.empty() ? "" : ",") + g->name();
  return s.empty() ? "none" : s;
}

PruneState plan_gates(const GraphAnalysis& analysis, const GateOptions& options) {
  PruneState state;
  state.granularities = options.granularities;
  for (const std::string& name : options.excluded_convs)
    PRUNUS_CHECK(analysis.conv_index(name) >= 0, "prune: excluded conv '", name,
                 "' is not a conv of the model; its convs are e.g. '",
                 analysis.convs.empty() ? std::string("(none)") : analysis.convs[0].name, "'");
  for (size_t i = 0; i < analysis.convs.size(); ++i) {
    const ConvLayer& conv = analysis.convs[i];
    ConvGates g;
    g.conv = conv.name;
    g.bn = conv.bn;
    g.in_d = conv.in_d;
    const bool excluded = (options.exclude_first_conv && i == 0) ||
                          std::find(options.excluded_convs.begin(), options.excluded_convs.end(), conv.name) !=
                              options.excluded_convs.end();
    if (!excluded)
      for (const Granularity* kind : options.granularities.list)
        if (kind->applies_to(conv)) g.kinds.add(*kind);
    state.convs.push_back(g);
  }
  return state;
}

void enable_gates(nn::Module& model, const PruneState& state) {
  for (const ConvGates& g : state.convs)
    for (const Granularity* kind : g.kinds.list) kind->enable(model, g);
}

void initialize_gates(nn::Module& model, const PruneState& state, double bn_gate_init) {
  for (const ConvGates& g : state.convs)
    for (const Granularity* kind : g.kinds.list) kind->initialize(model, g, bn_gate_init);
}

std::vector<GateTensor> gate_tensors(nn::Module& model, const PruneState& state) {
  std::vector<GateTensor> gates;
  for (size_t i = 0; i < state.convs.size(); ++i) {
    const ConvGates& g = state.convs[i];
    for (const Granularity* kind : g.kinds.list) {
      Tensor t = kind->gate(model, g);
      PRUNUS_CHECK(t.defined(), "prune: conv '", g.conv, "' has no ", kind->name(), " gate; call enable_gates first");
      gates.push_back({int(i), kind, t});
    }
  }
  return gates;
}

std::vector<optim::ParamGroup> parameter_groups(nn::Module& model, double weight_decay, double momentum,
                                                bool nesterov) {
  optim::ParamGroup weights, gates;
  weights.name = "weights";
  weights.weight_decay = weight_decay;
  gates.name = "gates";
  gates.weight_decay = 0.0;
  for (optim::ParamGroup* g : {&weights, &gates}) {
    g->momentum = momentum;
    g->nesterov = nesterov;
  }
  for (auto& [name, t] : model.named_parameters(nn::ParameterFilter::ExcludeGates)) weights.params.push_back(t);
  for (auto& [name, t] : model.named_parameters(nn::ParameterFilter::GatesOnly)) gates.params.push_back(t);
  std::vector<optim::ParamGroup> groups{weights};
  if (!gates.params.empty()) groups.push_back(gates);
  return groups;
}

std::vector<bool> removed_filters(nn::Module& model, const ConvLayer& layer) {
  std::vector<bool> removed(layer.out_channels, false);
  if (layer.in_d) return removed;
  auto conv = conv_module(model, layer.name);
  if (!conv->mask.defined()) return removed;
  const float* m = f32_data(conv->mask, "mask of conv '" + layer.name + "'");
  const int64_t row = conv->mask.numel() / layer.out_channels;
  for (int64_t f = 0; f < layer.out_channels; ++f)
    removed[f] = std::all_of(m + f * row, m + (f + 1) * row, [](float v) { return v == 0.0f; });
  return removed;
}

int64_t strongest_filter(nn::Module& model, const ConvLayer& layer, const std::vector<bool>& exclude) {
  auto conv = conv_module(model, layer.name);
  const float* w = f32_data(conv->weight, "weight of conv '" + layer.name + "'");
  const float* gamma =
      layer.bn.empty() ? nullptr : f32_data(batch_norm_module(model, layer.bn)->weight, "gamma of '" + layer.bn + "'");
  const int64_t row = conv->weight.numel() / layer.out_channels;
  int64_t best = -1;
  std::pair<double, double> best_strength{-1, -1};
  for (int64_t f = 0; f < layer.out_channels; ++f) {
    if (f < int64_t(exclude.size()) && exclude[f]) continue;
    double norm = 0;
    for (int64_t k = f * row; k < (f + 1) * row; ++k) norm += std::abs(double(w[k]));
    const std::pair<double, double> strength{(gamma ? std::abs(double(gamma[f])) : 1.0) * norm, norm};
    if (strength > best_strength) {
      best_strength = strength;
      best = f;
    }
  }
  return best;
}

namespace {

// "Whether any weight under the gate is unmasked", per gate element.
Tensor gate_mask_from(const Tensor& mask, const nn::ConvGatePattern& pattern) {
  const Shape& s = mask.shape();  // [F,C,K,K]
  const int64_t F = s[0], C = s[1], K = s[2];
  Tensor out = Tensor::zeros(pattern.shape(F, C, K));
  const float* m = mask.f32();
  float* o = out.f32();
  for (int64_t f = 0; f < F; ++f)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < K; ++i)
        for (int64_t j = 0; j < K; ++j)
          if (m[((f * C + c) * K + i) * K + j] != 0.0f) o[group_index(pattern, C, K, f, c, i, j)] = 1.0f;
  return out;
}

}  // namespace

void register_masks(optim::SGD& optimizer, nn::Module& model, const GraphAnalysis& analysis) {
  std::unordered_set<const TensorImpl*> held;
  for (const auto& group : optimizer.groups())
    for (const Tensor& p : group.params) held.insert(p.impl());
  auto set = [&](const Tensor& param, const Tensor& mask) {
    if (param.defined() && held.count(param.impl())) optimizer.set_mask(param, mask);
  };
  for (const ConvLayer& layer : analysis.convs) {
    auto conv = conv_module(model, layer.name);
    if (!conv->mask.defined()) continue;
    f32_data(conv->mask, "mask of conv '" + layer.name + "'");
    set(conv->weight, conv->mask);
    for (const auto& [kind, gate] : conv->defined_gates())
      set(gate, gate_mask_from(conv->mask, *nn::find_conv_gate_kind(kind)));
    const std::vector<bool> removed = removed_filters(model, layer);
    if (std::none_of(removed.begin(), removed.end(), [](bool r) { return r; })) continue;
    if (conv->bias.defined()) {
      Tensor m = Tensor::ones(conv->bias.shape());
      for (int64_t f = 0; f < layer.out_channels; ++f)
        if (removed[f]) m.f32()[f] = 0.0f;
      set(conv->bias, m);
    }
    for (const ChannelUser& user : layer.batch_norms) {
      auto bn = batch_norm_module(model, user.module);
      Tensor m = Tensor::ones(bn->weight.shape());
      for (int64_t f = 0; f < layer.out_channels; ++f)
        if (removed[f])
          for (int64_t k = 0; k < user.features_per_channel; ++k) m.f32()[user.index_of_filter[f] + k] = 0.0f;
      set(bn->weight, m);
      set(bn->bias, m);
    }
  }
}

}  // namespace prune
}  // namespace prunus
