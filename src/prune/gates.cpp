#include "prunus/prune/gates.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <unordered_set>

#include "prunus/prune/model_access.h"

namespace prunus {
namespace prune {

const char* gate_kind_name(GateKind kind) {
  switch (kind) {
    case GateKind::Filter: return "filter";
    case GateKind::Channel: return "channel";
    case GateKind::Stripe: return "stripe";
    case GateKind::Weight: return "weight";
  }
  return "?";
}

bool Granularities::has(GateKind kind) const {
  switch (kind) {
    case GateKind::Filter: return filter;
    case GateKind::Channel: return channel;
    case GateKind::Stripe: return stripe;
    case GateKind::Weight: return weight;
  }
  return false;
}

Granularities Granularities::parse(const std::string& list) {
  Granularities g;
  g.filter = g.stripe = g.channel = g.weight = false;
  std::string word;
  std::istringstream in(list);
  bool any = false;
  auto take = [&](const std::string& w) {
    if (w.empty()) return;
    if (w == "filter") g.filter = true;
    else if (w == "stripe") g.stripe = true;
    else if (w == "channel") g.channel = true;
    else if (w == "weight") g.weight = true;
    else PRUNUS_FAIL("prune granularities '", list, "': unknown granularity '", w,
                     "'; expected a list of filter, channel, stripe, weight (e.g. \"filter,stripe\")");
    any = true;
  };
  for (char c : list) {
    if (c == ',' || c == '+' || c == ' ') {
      take(word);
      word.clear();
    } else {
      word += c;
    }
  }
  take(word);
  PRUNUS_CHECK(any, "prune granularities '", list, "': name at least one of filter, channel, stripe, weight");
  return g;
}

std::string Granularities::str() const {
  std::string s;
  for (GateKind k : {GateKind::Filter, GateKind::Channel, GateKind::Stripe, GateKind::Weight})
    if (has(k)) s += (s.empty() ? "" : ",") + std::string(gate_kind_name(k));
  return s.empty() ? "none" : s;
}

bool ConvGates::has(GateKind kind) const {
  switch (kind) {
    case GateKind::Filter: return filter;
    case GateKind::Channel: return channel;
    case GateKind::Stripe: return stripe;
    case GateKind::Weight: return weight;
  }
  return false;
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
    if (!excluded) {
      g.filter = options.granularities.filter && !conv.in_d && !conv.bn.empty();
      g.stripe = options.granularities.stripe;
      g.channel = options.granularities.channel;
      g.weight = options.granularities.weight;
    }
    state.convs.push_back(g);
  }
  return state;
}

void enable_gates(nn::Module& model, const PruneState& state) {
  for (const ConvGates& g : state.convs) {
    auto conv = conv_module(model, g.conv);
    if (g.stripe) conv->enable_stripe_gate();
    if (g.channel) conv->enable_channel_gate();
  }
}

void init_filter_gates(nn::Module& model, const PruneState& state, double value) {
  for (const ConvGates& g : state.convs)
    if (g.filter) batch_norm_module(model, g.bn)->weight.fill_(value);
}

std::vector<GateTensor> gate_tensors(nn::Module& model, const PruneState& state) {
  std::vector<GateTensor> gates;
  for (size_t i = 0; i < state.convs.size(); ++i) {
    const ConvGates& g = state.convs[i];
    auto conv = conv_module(model, g.conv);
    if (g.filter) gates.push_back({int(i), GateKind::Filter, batch_norm_module(model, g.bn)->weight});
    if (g.channel) {
      PRUNUS_CHECK(conv->channel_gate.defined(), "prune: conv '", g.conv,
                   "' has no channel gate; call enable_gates first");
      gates.push_back({int(i), GateKind::Channel, conv->channel_gate});
    }
    if (g.stripe) {
      PRUNUS_CHECK(conv->stripe_gate.defined(), "prune: conv '", g.conv,
                   "' has no stripe gate; call enable_gates first");
      gates.push_back({int(i), GateKind::Stripe, conv->stripe_gate});
    }
    if (g.weight) gates.push_back({int(i), GateKind::Weight, conv->weight});
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
Tensor gate_mask_from(const Tensor& mask, const Shape& gate_shape) {
  const Shape& s = mask.shape();  // [F,C,K,K]
  Tensor out = Tensor::zeros(gate_shape);
  const float* m = mask.f32();
  float* o = out.f32();
  const bool stripe = gate_shape[1] == 1;
  const int64_t C = s[1], KK = s[2] * s[3];
  for (int64_t f = 0; f < s[0]; ++f)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t k = 0; k < KK; ++k)
        if (m[(f * C + c) * KK + k] != 0.0f) o[stripe ? f * KK + k : f * C + c] = 1.0f;
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
    if (conv->stripe_gate.defined()) set(conv->stripe_gate, gate_mask_from(conv->mask, conv->stripe_gate.shape()));
    if (conv->channel_gate.defined())
      set(conv->channel_gate, gate_mask_from(conv->mask, conv->channel_gate.shape()));
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
