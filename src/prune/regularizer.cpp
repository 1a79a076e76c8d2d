#include "prunus/prune/regularizer.h"

#include <algorithm>
#include <cmath>

#include "prunus/prune/model_access.h"

namespace prunus {
namespace prune {

double group_weight(double magnitude, double layer_mean, double max_weight, double eps) {
  if (!(layer_mean > 0)) return 1.0;  // every gate of the layer is zero: nothing to weigh
  return std::min(layer_mean / (std::abs(magnitude) + eps * layer_mean), max_weight);
}

double controller_factor(double flops_reduction, double goal, double max_factor) {
  if (!(goal > 0)) return 1.0;
  return std::clamp(std::pow(max_factor, 1.0 - flops_reduction / goal), 1.0 / max_factor, max_factor);
}

double controller_goal(const RegularizerOptions& options, int epoch) {
  const double ramp_epochs = options.controller_reach * double(options.sparse_epochs);
  return options.target_flops_reduction * std::min(1.0, double(epoch + 1) / ramp_epochs);
}

std::vector<double> structure_terms(const ModelCount& count, const GraphAnalysis& analysis,
                                    const PruneState& state, const Granularity& kind) {
  const size_t n = analysis.convs.size();
  PRUNUS_CHECK(state.convs.size() == n && count.convs.size() == n,
               "prune regularizer: the prune state, the count and the analysis describe different models");
  std::vector<double> macs_per_group(n, 0.0);
  double sum = 0;
  int layers = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!state.convs[i].has(kind)) continue;
    const double macs = kind.structure_macs(count, analysis, i);
    const double groups = double(count.convs[i].alive_groups(kind));
    if (groups <= 0) continue;  // nothing left to push
    macs_per_group[i] = macs / groups;
    sum += macs_per_group[i];
    ++layers;
  }
  if (layers == 0 || !(sum > 0)) return std::vector<double>(n, 0.0);
  const double mean = sum / layers;
  for (double& a : macs_per_group) a /= mean;
  return macs_per_group;
}

AdaptiveL1::AdaptiveL1(nn::Module& model, const GraphAnalysis& analysis, const PruneState& state,
                       RegularizerOptions options)
    : model_(model), analysis_(analysis), state_(state), options_(options), lambda0_(options.lambda0) {
  PRUNUS_CHECK(std::isfinite(options.lambda0) && options.lambda0 >= 0, "prune.lambda0 must be finite and >= 0, got ",
               options.lambda0);
  PRUNUS_CHECK(options.target_flops_reduction >= 0 && options.target_flops_reduction < 1,
               "prune.target_flops_reduction must be in [0, 1), got ", options.target_flops_reduction);
  PRUNUS_CHECK(options.sparse_epochs >= 1, "prune.sparse_epochs must be >= 1, got ", options.sparse_epochs);
  PRUNUS_CHECK(options.controller_reach > 0 && options.controller_reach <= 1,
               "prune.controller_reach must be in (0, 1], got ", options.controller_reach);
  PRUNUS_CHECK(options.controller_max_factor > 1 && std::isfinite(options.controller_max_factor),
               "prune.controller_max_factor must be finite and > 1, got ", options.controller_max_factor);
  PRUNUS_CHECK(options.group_weight_max > 0 && options.group_weight_eps > 0,
               "prune regularizer: the group weight bound and eps must be positive");
  PRUNUS_CHECK(state.convs.size() == analysis.convs.size(),
               "prune regularizer: the prune state and the analysis describe different models");
}

void AdaptiveL1::set_lambda0(double value) {
  PRUNUS_CHECK(std::isfinite(value) && value >= 0, "prune: lambda0 must be finite and >= 0, got ", value);
  lambda0_ = value;
}

std::vector<std::pair<GateTensor, Tensor>> AdaptiveL1::strengths() {
  std::vector<GateTensor> gates = gate_tensors(model_, state_);
  std::vector<std::pair<GateTensor, Tensor>> result;
  if (!options_.adaptive) {
    for (const GateTensor& g : gates) result.emplace_back(g, Tensor::full(g.tensor.shape(), lambda0_));
    return result;
  }
  const ModelCount count = count_model(model_, analysis_);
  std::vector<std::vector<double>> a(granularities().size());
  for (const Granularity* kind : state_.granularities.list)
    a[kind->id()] = structure_terms(count, analysis_, state_, *kind);
  for (const GateTensor& g : gates) {
    const float* s = f32_data(g.tensor, g.kind->name() + " gate of '" + analysis_.convs[g.conv].name + "'");
    const int64_t n = g.tensor.numel();
    double mean = 0;
    for (int64_t i = 0; i < n; ++i) mean += std::abs(double(s[i]));
    mean /= double(std::max<int64_t>(n, 1));
    const double layer = a[g.kind->id()].empty() ? 0.0 : a[g.kind->id()][g.conv];
    Tensor strength = Tensor::empty(g.tensor.shape());
    float* out = strength.f32();
    for (int64_t i = 0; i < n; ++i)
      out[i] = float(lambda0_ * layer *
                     group_weight(s[i], mean, options_.group_weight_max, options_.group_weight_eps));
    result.emplace_back(g, strength);
  }
  return result;
}

void AdaptiveL1::apply(optim::SGD& optimizer) {
  for (auto& [gate, strength] : strengths()) optimizer.set_l1(gate.tensor, strength);
}

double AdaptiveL1::end_epoch(int epoch, optim::SGD& optimizer) {
  PRUNUS_CHECK(epoch >= 0, "prune regularizer: epoch must be >= 0, got ", epoch);
  LambdaTraceEntry entry;
  entry.epoch = epoch;
  entry.lambda0 = lambda0_;
  entry.flops_reduction = flops_reduction(model_, analysis_);
  if (options_.adaptive && options_.target_flops_reduction > 0) {
    entry.goal = controller_goal(options_, epoch);
    lambda0_ *= controller_factor(entry.flops_reduction, entry.goal, options_.controller_max_factor);
  }
  entry.next_lambda0 = lambda0_;
  trace_.push_back(entry);
  apply(optimizer);
  return entry.flops_reduction;
}

void AdaptiveL1::clear(optim::SGD& optimizer) {
  for (const GateTensor& g : gate_tensors(model_, state_)) optimizer.clear_l1(g.tensor);
}

}  // namespace prune
}  // namespace prunus
