#include "prunus/prune/filter_removal.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "prunus/autograd.h"
#include "prunus/ops.h"
#include "prunus/prune/gates.h"
#include "prunus/prune/model_access.h"
#include "prunus/rng.h"

namespace prunus {
namespace prune {
namespace {

// Makes the removed filters constant channels: weights masked and zeroed,
// gamma 0 in every BN that carries them, and beta set to what that BN
// outputs for them now (eval mode), so nothing downstream changes. `inputs`
// holds each such BN's input from a traced pass made before any change.
void make_constant(nn::Module& model, const ConvLayer& layer, const std::vector<bool>& remove,
                   const std::map<std::string, Tensor>& inputs) {
  auto conv = conv_module(model, layer.name);
  conv->enable_mask();
  float* mask = f32_data(conv->mask, "mask of conv '" + layer.name + "'");
  float* weight = f32_data(conv->weight, "weight of conv '" + layer.name + "'");
  const int64_t row = conv->weight.numel() / layer.out_channels;
  for (int64_t f = 0; f < layer.out_channels; ++f)
    if (remove[f])
      for (int64_t i = f * row; i < (f + 1) * row; ++i) mask[i] = weight[i] = 0.0f;
  for (const ChannelUser& user : layer.batch_norms) {
    auto bn = batch_norm_module(model, user.module);
    auto input = inputs.find(user.module);
    PRUNUS_CHECK(input != inputs.end(), "remove_filters: BN '", user.module,
                 "' did not run in the traced forward pass; analyze the model again");
    const Tensor& x = input->second;
    const int64_t plane = x.numel() / (x.size(0) * x.size(1));  // 1 for BatchNorm1d
    const float* in = f32_data(x, "input of BN '" + user.module + "'");
    float* gamma = f32_data(bn->weight, "gamma of BN '" + user.module + "'");
    float* beta = f32_data(bn->bias, "beta of BN '" + user.module + "'");
    const float* mean = f32_data(bn->running_mean, "running_mean of BN '" + user.module + "'");
    const float* var = f32_data(bn->running_var, "running_var of BN '" + user.module + "'");
    for (int64_t f = 0; f < layer.out_channels; ++f) {
      if (!remove[f]) continue;
      for (int64_t k = 0; k < user.features_per_channel; ++k) {
        const int64_t j = user.index_of_filter[f] + k;
        // The plane is constant when the filter's gate or weights are zero;
        // its mean is the best single value otherwise.
        double sum = 0;
        for (int64_t p = 0; p < plane; ++p) sum += in[j * plane + p];
        const double value = double(gamma[j]) * (sum / double(plane) - mean[j]) / std::sqrt(double(var[j]) + bn->eps) +
                             double(beta[j]);
        gamma[j] = 0.0f;
        beta[j] = float(value);
      }
    }
  }
}

// One traced eval-mode pass on a random image: what each named module reads.
std::map<std::string, Tensor> traced_inputs(nn::Module& model, const GraphAnalysis& analysis,
                                            const std::set<std::string>& modules) {
  std::map<std::string, Tensor> inputs;
  EvalModeScope eval_mode(model);
  Rng rng(0x5eed);
  Shape shape = analysis.input_shape;
  shape[0] = 1;
  const Tensor x = Tensor::randn(shape, rng);
  TraceGuard trace;
  const Tensor out = model(x);
  for (const auto& node : topological_order(out))
    if (modules.count(node->module) && (node->kind->channels == ChannelRule::Conv ||
                                        node->kind->channels == ChannelRule::Linear ||
                                        node->kind->channels == ChannelRule::BatchNorm))
      inputs[node->module] = node->inputs[0].detach();
  return inputs;
}

// Zeroes beta (and the conv bias) of the removed filters: the channel becomes exactly 0.
void make_zero(nn::Module& model, const ConvLayer& layer, const std::vector<bool>& remove) {
  auto conv = conv_module(model, layer.name);
  if (conv->bias.defined()) {
    float* bias = f32_data(conv->bias, "bias of conv '" + layer.name + "'");
    for (int64_t f = 0; f < layer.out_channels; ++f)
      if (remove[f]) bias[f] = 0.0f;
  }
  for (const ChannelUser& user : layer.batch_norms) {
    float* beta = f32_data(batch_norm_module(model, user.module)->bias, "beta of BN '" + user.module + "'");
    for (int64_t f = 0; f < layer.out_channels; ++f)
      if (remove[f])
        for (int64_t k = 0; k < user.features_per_channel; ++k) beta[user.index_of_filter[f] + k] = 0.0f;
  }
}

// What the removed channels add to a linear consumer, per output unit.
std::vector<double> linear_contribution(nn::Module& model, const ChannelUser& user, const Tensor& input,
                                        const std::vector<bool>& remove) {
  auto linear = linear_module(model, user.module);
  const float* w = f32_data(linear->weight, "weight of linear '" + user.module + "'");
  const float* x = f32_data(input, "input of linear '" + user.module + "'");
  std::vector<double> delta(linear->out_features, 0.0);
  for (int64_t f = 0; f < int64_t(remove.size()); ++f) {
    if (!remove[f]) continue;
    for (int64_t k = 0; k < user.features_per_channel; ++k) {
      const int64_t j = user.index_of_filter[f] + k;
      for (int o = 0; o < linear->out_features; ++o) delta[o] += double(w[o * int64_t(linear->in_features) + j]) * x[j];
    }
  }
  return delta;
}

// The value of every removed input channel of a conv consumer, when each is
// one constant over its plane (the usual case: BN beta through a ReLU).
bool constant_planes(const ChannelUser& user, const Tensor& input, const std::vector<bool>& remove,
                     std::vector<float>& value) {
  const int64_t plane = input.size(2) * input.size(3);
  const float* x = f32_data(input, "input of conv '" + user.module + "'");
  value.assign(remove.size(), 0.0f);
  for (size_t f = 0; f < remove.size(); ++f) {
    if (!remove[f]) continue;
    const float* p = x + user.index_of_filter[f] * plane;
    if (!std::all_of(p, p + plane, [&](float v) { return v == p[0]; })) return false;
    value[f] = p[0];
  }
  return true;
}

// Exact: the consumer's constant-input weights take sum_c v_c * W[:, c].
void fold_constants_exactly(nn::Module& model, const ChannelUser& user, const std::vector<bool>& remove,
                            const std::vector<float>& value) {
  auto conv = conv_module(model, user.module);
  Tensor weight;
  {
    NoGradGuard no_grad;
    weight = conv->effective_weight().detach();
  }
  conv->enable_constant_input();
  float* r = f32_data(conv->constant_input_weight, "constant_input_weight of conv '" + user.module + "'");
  const float* w = f32_data(weight, "weight of conv '" + user.module + "'");
  const int64_t C = conv->in_channels, KK = int64_t(conv->kernel_size) * conv->kernel_size;
  for (int64_t o = 0; o < conv->out_channels; ++o)
    for (size_t f = 0; f < remove.size(); ++f) {
      if (!remove[f] || value[f] == 0.0f) continue;
      const int64_t c = user.index_of_filter[f];
      for (int64_t k = 0; k < KK; ++k) r[o * KK + k] += value[f] * w[(o * C + c) * KK + k];
    }
}

// Approximate, for a removed channel that is not constant over its plane
// (it passed through an op that treats borders differently): its
// contribution averaged over the output positions, per output channel.
std::vector<double> averaged_conv_contribution(nn::Module& model, const ChannelUser& user, const Tensor& input,
                                               const std::vector<bool>& remove) {
  NoGradGuard no_grad;
  auto conv = conv_module(model, user.module);
  Tensor only_removed = Tensor::zeros(input.shape());
  const int64_t plane = input.size(2) * input.size(3);
  const float* x = f32_data(input, "input of conv '" + user.module + "'");
  for (size_t f = 0; f < remove.size(); ++f)
    if (remove[f]) {
      const int64_t c = user.index_of_filter[f];
      std::copy(x + c * plane, x + (c + 1) * plane, only_removed.f32() + c * plane);
    }
  const Tensor y = ops::conv2d(only_removed, conv->effective_weight(), Tensor(), conv->stride, conv->padding);
  const int64_t out_plane = y.size(2) * y.size(3);
  std::vector<double> delta(conv->out_channels, 0.0);
  for (int64_t o = 0; o < conv->out_channels; ++o) {
    double sum = 0;
    for (int64_t p = 0; p < out_plane; ++p) sum += y.f32()[o * out_plane + p];
    delta[o] = sum / double(out_plane);
  }
  return delta;
}

// Adds a per-output-unit delta to what the consumer computes: a linear's or
// conv's bias, or (a conv followed by BN) minus its running mean. False if
// there is nowhere to put it.
bool fold_delta(nn::Module& model, const GraphAnalysis& analysis, const ChannelUser& user,
                const std::vector<double>& delta) {
  if (user.kind == ChannelUser::Kind::Linear) {
    auto linear = linear_module(model, user.module);
    if (!linear->bias.defined()) return false;
    float* b = f32_data(linear->bias, "bias of linear '" + user.module + "'");
    for (size_t o = 0; o < delta.size(); ++o) b[o] += float(delta[o]);
    return true;
  }
  const ConvLayer& consumer = analysis.conv(user.module);
  if (!consumer.bn.empty()) {
    auto bn = batch_norm_module(model, consumer.bn);
    float* mean = f32_data(bn->running_mean, "running_mean of BN '" + consumer.bn + "'");
    for (size_t o = 0; o < delta.size(); ++o) mean[o] -= float(delta[o]);
    return true;
  }
  auto conv = conv_module(model, user.module);
  if (!conv->bias.defined()) return false;
  float* b = f32_data(conv->bias, "bias of conv '" + user.module + "'");
  for (size_t o = 0; o < delta.size(); ++o) b[o] += float(delta[o]);
  return true;
}

}  // namespace

FilterRemoval remove_filters(nn::Module& model, const GraphAnalysis& analysis,
                             const std::vector<std::vector<bool>>& remove_in) {
  PRUNUS_CHECK(remove_in.size() == analysis.convs.size(), "remove_filters: got ", remove_in.size(),
               " filter lists for ", analysis.convs.size(), " convs");
  FilterRemoval result;
  std::vector<std::vector<bool>> remove(analysis.convs.size());
  std::set<std::string> consumers;
  for (size_t i = 0; i < analysis.convs.size(); ++i) {
    const ConvLayer& layer = analysis.convs[i];
    if (remove_in[i].empty()) continue;
    PRUNUS_CHECK(int64_t(remove_in[i].size()) == layer.out_channels, "remove_filters: conv '", layer.name, "' has ",
                 layer.out_channels, " filters, got a list of ", remove_in[i].size());
    const std::vector<bool> already = removed_filters(model, layer);
    int64_t kept = 0, removing = 0;
    remove[i].assign(layer.out_channels, false);
    for (int64_t f = 0; f < layer.out_channels; ++f) {
      remove[i][f] = remove_in[i][f] && !already[f];
      removing += remove[i][f];
      kept += !remove_in[i][f] && !already[f];
    }
    if (removing == 0) {
      remove[i].clear();
      continue;
    }
    PRUNUS_CHECK(!layer.in_d, "remove_filters: conv '", layer.name,
                 "' is dimension-matching (", layer.d_reason, "); its filters cannot be removed");
    PRUNUS_CHECK(kept >= 1, "remove_filters: removing these filters would leave conv '", layer.name,
                 "' without any filter");
    result.filters += removing;
    for (const ChannelUser& u : layer.consumers) consumers.insert(u.module);
  }
  if (result.filters == 0) return result;

  std::set<std::string> batch_norms;
  for (size_t i = 0; i < analysis.convs.size(); ++i)
    if (!remove[i].empty())
      for (const ChannelUser& user : analysis.convs[i].batch_norms) batch_norms.insert(user.module);
  const std::map<std::string, Tensor> bn_inputs = traced_inputs(model, analysis, batch_norms);
  for (size_t i = 0; i < analysis.convs.size(); ++i)
    if (!remove[i].empty()) make_constant(model, analysis.convs[i], remove[i], bn_inputs);
  // What every consumer reads once the removed channels are constant.
  const std::map<std::string, Tensor> consumer_inputs = traced_inputs(model, analysis, consumers);
  for (size_t i = 0; i < analysis.convs.size(); ++i) {
    if (remove[i].empty()) continue;
    for (const ChannelUser& u : analysis.convs[i].consumers) {
      auto it = consumer_inputs.find(u.module);
      PRUNUS_CHECK(it != consumer_inputs.end(), "remove_filters: consumer '", u.module,
                   "' did not run in the traced forward pass; analyze the model again");
      std::vector<float> value;
      if (u.kind == ChannelUser::Kind::Conv && constant_planes(u, it->second, remove[i], value)) {
        fold_constants_exactly(model, u, remove[i], value);
        ++result.folded;
        continue;
      }
      const bool approximate = u.kind == ChannelUser::Kind::Conv;
      const std::vector<double> delta = approximate ? averaged_conv_contribution(model, u, it->second, remove[i])
                                                    : linear_contribution(model, u, it->second, remove[i]);
      if (!fold_delta(model, analysis, u, delta))
        ++result.not_foldable;
      else if (approximate)
        ++result.approximate;
      else
        ++result.folded;
    }
  }
  for (size_t i = 0; i < analysis.convs.size(); ++i)
    if (!remove[i].empty()) make_zero(model, analysis.convs[i], remove[i]);
  return result;
}

}  // namespace prune
}  // namespace prunus
