#include "prunus/prune/flops.h"

#include <algorithm>

#include "prunus/autograd.h"
#include "prunus/prune/gates.h"
#include "prunus/prune/model_access.h"

namespace prunus {
namespace prune {
namespace {

// The conv's effective weight, computed without recording, as a plain array.
std::vector<float> effective_weight_values(const nn::Conv2d& conv, const std::string& name) {
  f32_data(conv.weight, "weight of conv '" + name + "'");
  for (const auto& [kind, gate] : conv.defined_gates()) f32_data(gate, kind + " gate of '" + name + "'");
  if (conv.mask.defined()) f32_data(conv.mask, "mask of '" + name + "'");
  NoGradGuard no_grad;
  const Tensor eff = conv.effective_weight();
  return std::vector<float>(eff.f32(), eff.f32() + eff.numel());
}

std::vector<int64_t> nonzero_per_filter(const std::vector<float>& eff, int64_t F) {
  const int64_t row = int64_t(eff.size()) / F;
  std::vector<int64_t> counts(F, 0);
  for (int64_t f = 0; f < F; ++f)
    for (int64_t i = f * row; i < (f + 1) * row; ++i) counts[f] += eff[i] != 0.0f;
  return counts;
}

std::vector<uint8_t> alive_filters(nn::Module& model, const ConvLayer& layer, const std::vector<int64_t>& nonzero) {
  const int64_t F = layer.out_channels;
  std::vector<uint8_t> alive(F, 1);
  if (layer.in_d) return alive;
  const float* gamma = nullptr;
  if (!layer.bn.empty()) {
    auto bn = batch_norm_module(model, layer.bn);
    gamma = f32_data(bn->weight, "gamma of BN '" + layer.bn + "'");
  }
  for (int64_t f = 0; f < F; ++f) alive[f] = nonzero[f] > 0 && (!gamma || gamma[f] != 0.0f);
  // Pruning never removes every filter of a conv: it keeps the strongest.
  if (std::find(alive.begin(), alive.end(), uint8_t(1)) == alive.end()) {
    const int64_t strongest = strongest_filter(model, layer, removed_filters(model, layer));
    if (strongest >= 0) alive[strongest] = 1;
  }
  return alive;
}

void count_conv(const ConvLayer& layer, const std::vector<float>& eff, LayerCount& out) {
  const int64_t F = layer.out_channels, C = layer.in_channels, K = layer.kernel, KK = K * K;
  const std::vector<const Granularity*> fine = fine_granularities();
  out.groups_alive.assign(granularities().size(), 0);
  out.removed_by_granularity.assign(granularities().size(), 0);
  // Per fine granularity: its pattern and, for the filter at hand, which groups have a live weight.
  std::vector<nn::ConvGatePattern> patterns;
  std::vector<std::vector<uint8_t>> live(fine.size());
  for (size_t g = 0; g < fine.size(); ++g) {
    patterns.push_back(fine[g]->pattern());
    live[g].resize(groups_per_filter(patterns[g], C, K));
  }
  const auto& fa = out.filter_alive;
  const auto& ia = out.input_alive;
  for (int64_t f = 0; f < F; ++f) {
    if (!fa[f]) {
      out.removed_by_filter += C * KK;
      continue;
    }
    const int64_t first = f * C * KK;
    for (auto& groups : live) std::fill(groups.begin(), groups.end(), uint8_t(0));
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < K; ++i)
        for (int64_t j = 0; j < K; ++j)
          if (ia[c] && eff[first + (c * K + i) * K + j] != 0.0f)
            for (size_t g = 0; g < fine.size(); ++g) live[g][group_index(patterns[g], C, K, 0, c, i, j)] = 1;
    for (size_t g = 0; g < fine.size(); ++g)
      out.groups_alive[fine[g]->id()] += std::count(live[g].begin(), live[g].end(), uint8_t(1));
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < K; ++i)
        for (int64_t j = 0; j < K; ++j) {
          if (!ia[c]) {
            ++out.removed_by_input;
            continue;
          }
          size_t g = 0;
          while (g < fine.size() && live[g][group_index(patterns[g], C, K, 0, c, i, j)]) ++g;
          if (g < fine.size()) ++out.removed_by_granularity[fine[g]->id()];
          else ++out.weights_alive;
        }
  }
  for (const Granularity* g : granularities())
    if (g->removes_filters()) {
      out.groups_alive[g->id()] = std::count(fa.begin(), fa.end(), uint8_t(1));
      out.removed_by_granularity[g->id()] = out.removed_by_filter;
    }
}

}  // namespace

int64_t LayerCount::alive_groups(const Granularity& g) const {
  return size_t(g.id()) < groups_alive.size() ? groups_alive[g.id()] : 0;
}

int64_t LayerCount::removed_by(const Granularity& g) const {
  return size_t(g.id()) < removed_by_granularity.size() ? removed_by_granularity[g.id()] : 0;
}

double ModelCount::flops_reduction() const {
  return dense_macs > 0 ? 1.0 - double(macs) / double(dense_macs) : 0.0;
}

double ModelCount::params_reduction() const {
  return dense_params > 0 ? 1.0 - double(params) / double(dense_params) : 0.0;
}

ModelCount count_model(nn::Module& model, const GraphAnalysis& analysis) {
  ModelCount result;
  const size_t n = analysis.convs.size();
  std::vector<std::vector<float>> effective(n);
  result.convs.resize(n);
  result.linears.resize(analysis.linears.size());
  // Pass 1: alive filters, and all inputs alive.
  for (size_t i = 0; i < n; ++i) {
    const ConvLayer& layer = analysis.convs[i];
    auto conv = conv_module(model, layer.name);
    PRUNUS_CHECK(conv->out_channels == layer.out_channels && conv->in_channels == layer.in_channels &&
                     conv->kernel_size == layer.kernel,
                 "prune count: conv '", layer.name, "' has shape [", conv->out_channels, ",", conv->in_channels, ",",
                 conv->kernel_size, "] but the analysis says [", layer.out_channels, ",", layer.in_channels, ",",
                 layer.kernel, "]; analyze the model again after changing it");
    effective[i] = effective_weight_values(*conv, layer.name);
    LayerCount& c = result.convs[i];
    c.name = layer.name;
    c.is_conv = true;
    c.in_d = layer.in_d;
    c.dense_shape = {layer.out_channels, layer.in_channels, layer.kernel, layer.kernel};
    c.nonzero_weights = nonzero_per_filter(effective[i], layer.out_channels);
    c.filter_alive = alive_filters(model, layer, c.nonzero_weights);
    c.input_alive.assign(layer.in_channels, 1);
  }
  for (size_t i = 0; i < analysis.linears.size(); ++i) {
    const LinearLayer& layer = analysis.linears[i];
    auto linear = linear_module(model, layer.name);
    PRUNUS_CHECK(linear->in_features == layer.in_features && linear->out_features == layer.out_features,
                 "prune count: linear '", layer.name, "' changed shape since the analysis; analyze it again");
    LayerCount& c = result.linears[i];
    c.name = layer.name;
    c.is_conv = false;
    c.dense_shape = {layer.out_features, layer.in_features};
    c.input_alive.assign(layer.in_features, 1);
  }
  // Pass 2: dead filters kill their consumers' inputs; BN users shrink.
  int64_t removed_other_params = 0;  // BNs other than the gate BN
  for (size_t i = 0; i < n; ++i) {
    const ConvLayer& layer = analysis.convs[i];
    const auto& alive = result.convs[i].filter_alive;
    for (const ChannelUser& user : layer.consumers) {
      std::vector<uint8_t>* inputs = user.kind == ChannelUser::Kind::Conv
                                         ? &result.convs[analysis.conv_index(user.module)].input_alive
                                         : &result.linears[analysis.linear_index(user.module)].input_alive;
      for (int64_t f = 0; f < layer.out_channels; ++f)
        if (!alive[f])
          for (int64_t k = 0; k < user.features_per_channel; ++k) (*inputs)[user.index_of_filter[f] + k] = 0;
    }
    const int64_t dead = std::count(alive.begin(), alive.end(), uint8_t(0));
    for (const ChannelUser& user : layer.batch_norms)
      if (user.module != layer.bn) removed_other_params += 2 * dead * user.features_per_channel;
  }
  // Pass 3: MACs and params.
  int64_t removed_params = removed_other_params;
  for (size_t i = 0; i < n; ++i) {
    const ConvLayer& layer = analysis.convs[i];
    auto conv = conv_module(model, layer.name);
    LayerCount& c = result.convs[i];
    c.filters = layer.out_channels;
    c.filters_alive = std::count(c.filter_alive.begin(), c.filter_alive.end(), uint8_t(1));
    c.inputs = layer.in_channels;
    c.inputs_alive = std::count(c.input_alive.begin(), c.input_alive.end(), uint8_t(1));
    c.weights = layer.out_channels * layer.in_channels * layer.kernel * layer.kernel;
    count_conv(layer, effective[i], c);
    const int64_t positions = layer.out_height * layer.out_width;
    c.dense_macs = c.weights * positions;
    c.macs = c.weights_alive * positions;
    const int64_t per_filter = (conv->bias.defined() ? 1 : 0) + (layer.bn.empty() ? 0 : 2);
    c.dense_params = c.weights + per_filter * c.filters;
    c.params = c.weights_alive + per_filter * c.filters_alive;
    removed_params += c.dense_params - c.params;
  }
  for (size_t i = 0; i < analysis.linears.size(); ++i) {
    const LinearLayer& layer = analysis.linears[i];
    auto linear = linear_module(model, layer.name);
    LayerCount& c = result.linears[i];
    c.filters = c.filters_alive = layer.out_features;
    c.inputs = layer.in_features;
    c.inputs_alive = std::count(c.input_alive.begin(), c.input_alive.end(), uint8_t(1));
    c.weights = layer.out_features * layer.in_features;
    c.weights_alive = layer.out_features * c.inputs_alive;
    c.removed_by_input = c.weights - c.weights_alive;
    c.dense_macs = c.weights;
    c.macs = c.weights_alive;
    const int64_t bias = linear->bias.defined() ? layer.out_features : 0;
    c.dense_params = c.weights + bias;
    c.params = c.weights_alive + bias;
    removed_params += c.dense_params - c.params;
  }
  for (const LayerCount& c : result.convs) {
    result.dense_macs += c.dense_macs;
    result.macs += c.macs;
  }
  for (const LayerCount& c : result.linears) {
    result.dense_macs += c.dense_macs;
    result.macs += c.macs;
  }
  for (const auto& [name, t] : model.named_parameters(nn::ParameterFilter::ExcludeGates))
    result.dense_params += t.numel();
  result.params = result.dense_params - removed_params;
  return result;
}

double flops_reduction(nn::Module& model, const GraphAnalysis& analysis) {
  return count_model(model, analysis).flops_reduction();
}

}  // namespace prune
}  // namespace prunus
