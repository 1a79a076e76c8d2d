#include "prunus/prune/compact.h"

#include <algorithm>
#include <cmath>

#include "prunus/autograd.h"
#include "prunus/nn/description.h"
#include "prunus/rng.h"
#include "prunus/nn/state.h"
#include "prunus/prune/granularity.h"
#include "prunus/prune/model_access.h"
#include "prunus/prune/stripe_conv2d.h"

namespace prunus {
namespace prune {
namespace {

// Copies t restricted to the kept indices along dim 0 (and dim 1 when keep1 is given).
Tensor select(const Tensor& t, const std::vector<bool>& keep0, const std::vector<bool>* keep1 = nullptr) {
  const Shape& s = t.shape();
  Shape out = s;
  out[0] = std::count(keep0.begin(), keep0.end(), true);
  if (keep1) out[1] = std::count(keep1->begin(), keep1->end(), true);
  int64_t inner = 1;
  for (size_t d = keep1 ? 2 : 1; d < s.size(); ++d) inner *= s[d];
  const int64_t dim1 = keep1 ? s[1] : 1;
  Tensor result = Tensor::empty(out);
  const float* from = f32_data(t, "tensor to shrink");
  float* to = result.f32();
  for (int64_t i = 0; i < s[0]; ++i) {
    if (!keep0[i]) continue;
    for (int64_t j = 0; j < dim1; ++j) {
      if (keep1 && !(*keep1)[j]) continue;
      const float* src = from + (i * dim1 + j) * inner;
      to = std::copy(src, src + inner, to);
    }
  }
  return result;
}

Tensor learnable(Tensor t) {
  t.requires_grad_(true);
  return t;
}

// Per-channel keep flags of a BN user (features_per_channel entries per filter).
std::vector<bool> user_keep(const ChannelUser& user, int64_t size, const std::vector<bool>& keep_filter) {
  std::vector<bool> keep(size, true);
  for (size_t f = 0; f < keep_filter.size(); ++f)
    if (!keep_filter[f])
      for (int64_t k = 0; k < user.features_per_channel; ++k) keep[user.index_of_filter[f] + k] = false;
  return keep;
}

void shrink_batch_norm(nn::BatchNormBase& bn, const std::vector<bool>& keep) {
  bn.weight = learnable(select(bn.weight, keep));
  bn.bias = learnable(select(bn.bias, keep));
  bn.running_mean = select(bn.running_mean, keep);
  bn.running_var = select(bn.running_var, keep);
  bn.channels = int(bn.weight.numel());
}

std::shared_ptr<nn::Module> rebuild_conv(const nn::Conv2d& conv, const std::vector<bool>& keep_filter,
                                         const std::vector<bool>& keep_input, const CompactOptions& options,
                                         CompactedConv& info) {
  Tensor effective;
  {
    NoGradGuard no_grad;
    effective = conv.effective_weight().detach();
  }
  ThinConv thin;
  thin.weight = select(effective, keep_filter, &keep_input);
  thin.bias = conv.bias.defined() ? select(conv.bias, keep_filter) : Tensor();
  if (conv.constant_input_weight.defined()) thin.constant_input = select(conv.constant_input_weight, keep_filter);
  thin.stride = conv.stride;
  thin.padding = conv.padding;
  const int64_t F = thin.weight.size(0), C = thin.weight.size(1), KK = thin.weight.size(2) * thin.weight.size(3);
  info.after = thin.weight.shape();
  for (const Granularity* g : fine_granularities())
    if (auto m = g->compact_conv(thin, options, info)) return m;
  auto m = std::make_shared<nn::Conv2d>(int(C), int(F), conv.kernel_size, conv.stride, conv.padding,
                                        thin.bias.defined());
  m->weight = learnable(thin.weight);
  if (thin.bias.defined()) m->bias = learnable(thin.bias);
  if (thin.constant_input.defined()) m->constant_input_weight = thin.constant_input;
  info.stripes_kept = F * KK;
  return m;
}

}  // namespace

std::vector<bool> zero_output_filters(nn::Module& model, const ConvLayer& layer) {
  std::vector<bool> zero(layer.out_channels, false);
  if (layer.in_d) return zero;
  auto conv = conv_module(model, layer.name);
  Tensor effective;
  {
    NoGradGuard no_grad;
    effective = conv->effective_weight().detach();
  }
  const float* w = f32_data(effective, "weight of conv '" + layer.name + "'");
  const int64_t row = effective.numel() / layer.out_channels;
  for (int64_t f = 0; f < layer.out_channels; ++f) {
    bool is_zero = std::all_of(w + f * row, w + (f + 1) * row, [](float v) { return v == 0.0f; });
    if (conv->bias.defined()) is_zero = is_zero && conv->bias.f32()[f] == 0.0f;
    for (const ChannelUser& user : layer.batch_norms) {
      auto bn = batch_norm_module(model, user.module);
      for (int64_t k = 0; k < user.features_per_channel && is_zero; ++k) {
        const int64_t i = user.index_of_filter[f] + k;
        is_zero = bn->weight.f32()[i] == 0.0f && bn->bias.f32()[i] == 0.0f;
      }
    }
    zero[f] = is_zero;
  }
  return zero;
}

CompactResult compact_model(nn::Module& masked, const GraphAnalysis& analysis, const CompactOptions& options) {
  PRUNUS_CHECK(options.min_removed_stripes >= 0 && options.min_removed_stripes <= 1,
               "compact: min_removed_stripes must be in [0, 1], got ", options.min_removed_stripes);
  PRUNUS_CHECK(options.max_stripe_cost > 0, "compact: max_stripe_cost must be positive, got ",
               options.max_stripe_cost);
  CompactResult result;
  {
    NoGradGuard no_grad;
    result.model = nn::build_from_description(nn::describe(masked));
    nn::load_state_tensors(*result.model, nn::state_tensors(masked));
  }
  nn::Module& model = *result.model;
  const size_t n = analysis.convs.size();
  std::vector<std::vector<bool>> keep_filter(n), keep_input(n), keep_feature(analysis.linears.size());
  for (size_t i = 0; i < n; ++i) {
    keep_input[i].assign(analysis.convs[i].in_channels, true);
    const std::vector<bool> zero = zero_output_filters(model, analysis.convs[i]);
    keep_filter[i].resize(zero.size());
    for (size_t f = 0; f < zero.size(); ++f) keep_filter[i][f] = !zero[f];
    if (std::none_of(keep_filter[i].begin(), keep_filter[i].end(), [](bool k) { return k; }))
      keep_filter[i][0] = true;  // an all-zero conv still needs one channel
  }
  for (size_t i = 0; i < analysis.linears.size(); ++i) keep_feature[i].assign(analysis.linears[i].in_features, true);
  // Dropped filters take their consumers' inputs with them.
  for (size_t i = 0; i < n; ++i)
    for (const ChannelUser& u : analysis.convs[i].consumers) {
      std::vector<bool>& keep = u.kind == ChannelUser::Kind::Conv ? keep_input[analysis.conv_index(u.module)]
                                                                  : keep_feature[analysis.linear_index(u.module)];
      for (size_t f = 0; f < keep_filter[i].size(); ++f)
        if (!keep_filter[i][f])
          for (int64_t k = 0; k < u.features_per_channel; ++k) keep[u.index_of_filter[f] + k] = false;
    }
  for (size_t i = 0; i < n; ++i) {
    const ConvLayer& layer = analysis.convs[i];
    auto conv = conv_module(model, layer.name);
    CompactedConv info;
    info.name = layer.name;
    info.in_d = layer.in_d;
    info.before = conv->weight_shape();
    std::shared_ptr<nn::Module> rebuilt = rebuild_conv(*conv, keep_filter[i], keep_input[i], options, info);
    model.replace_module(layer.name, rebuilt);
    for (const ChannelUser& user : layer.batch_norms) {
      auto bn = batch_norm_module(model, user.module);
      shrink_batch_norm(*bn, user_keep(user, bn->channels, keep_filter[i]));
    }
    result.convs.push_back(info);
  }
  for (size_t i = 0; i < analysis.linears.size(); ++i) {
    const std::vector<bool>& keep = keep_feature[i];
    if (std::all_of(keep.begin(), keep.end(), [](bool k) { return k; })) continue;
    auto linear = linear_module(model, analysis.linears[i].name);
    std::vector<bool> all_outputs(linear->out_features, true);
    linear->weight = learnable(select(linear->weight, all_outputs, &keep));
    linear->in_features = int(linear->weight.size(1));
  }
  model.train(masked.training());
  return result;
}

std::shared_ptr<nn::Module> fresh_copy(nn::Module& model, uint64_t seed) {
  std::shared_ptr<nn::Module> fresh = nn::build_from_description(nn::describe(model), seed);
  // Only the stripe layouts are structure rather than learned values.
  const auto original = model.named_modules();
  const auto copies = fresh->named_modules();
  Rng rng(seed ^ 0x5712e5ull);
  NoGradGuard no_grad;
  for (size_t i = 0; i < copies.size(); ++i) {
    if (auto* conv = dynamic_cast<nn::Conv2d*>(copies[i].second.get())) conv->constant_input_weight = Tensor();
    auto* copy = dynamic_cast<StripeConv2d*>(copies[i].second.get());
    if (!copy) continue;
    copy->constant_input_weight = Tensor();
    const auto* from = dynamic_cast<const StripeConv2d*>(original[i].second.get());
    PRUNUS_CHECK(from && copies[i].first == original[i].first, "fresh_copy: module '", copies[i].first,
                 "' did not rebuild as the same StripeConv2d");
    copy->stripe_filter.copy_(from->stripe_filter);
    copy->stripe_position.copy_(from->stripe_position);
    copy->weight.copy_(Tensor::randn(copy->weight.shape(), rng, 0.0, std::sqrt(2.0 / double(copy->stripes()))));
  }
  return fresh;
}

}  // namespace prune
}  // namespace prunus
