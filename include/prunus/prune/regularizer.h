// Adaptive L1 regularization of the gates (PRUNING.md):
//   lambda[l][g] = lambda0 * a_l * b_g
//   a_l : how many alive MACs one group of layer l stands for, normalized to
//         mean 1 over the layers that have gates of that kind (ours: a filter
//         stands for its own MACs and its consumers' MACs, a stripe/channel/
//         weight for its share of the layer's alive MACs);
//   b_g : min(mean_l / (|s_g| + 1e-3 * mean_l), 10), mean_l = mean |gate| of
//         that kind in that layer (1 when the layer's gates are all zero);
//   lambda0 controller toward a FLOPs-reduction target:
//         goal = target * min(1, (epoch + 1) / (reach * sparse_epochs)),
//         lambda0 *= clamp(m^(1 - r/goal), 1/m, m), r = flops_reduction();
//         reach = 1 and m = 2 are the paper's schedule. A short sparse phase
//         (ResNet-56: 6 epochs) loses half of it while r is still 0 at m = 2;
//         reach < 1 and m > 2 let it arrive early and then hold the target.
// Plain mode (the ablation): lambda = lambda0 for every gate, no controller.
// The strengths are handed to optim::SGD::set_l1, whose proximal step
// soft-thresholds the gates to exact zeros.
#pragma once
#include <vector>

#include "prunus/optim/sgd.h"
#include "prunus/prune/analysis.h"
#include "prunus/prune/flops.h"
#include "prunus/prune/gates.h"

namespace prunus {
namespace prune {

struct RegularizerOptions {
  bool adaptive = true;
  double lambda0 = 5e-3;
  double target_flops_reduction = 0.0;  // in (0,1) turns the controller on (adaptive mode only)
  int sparse_epochs = 10;
  double controller_reach = 1.0;        // fraction of sparse_epochs at whose end the goal is the target
  double controller_max_factor = 2.0;   // m: the most lambda0 may grow (or 1/m shrink) in one epoch
  double group_weight_max = 10.0;       // the bound of b_g
  double group_weight_eps = 1e-3;       // relative to mean_l
};

struct LambdaTraceEntry {
  int epoch = 0;              // the sparse epoch that just ended
  double lambda0 = 0;         // the value used during that epoch
  double flops_reduction = 0; // r measured at its end
  double goal = 0;            // the schedule's goal for it (0 without a target)
  double next_lambda0 = 0;    // the value for the next epoch
};

// b_g for one gate magnitude in a layer whose mean magnitude is layer_mean.
double group_weight(double magnitude, double layer_mean, double max_weight = 10.0, double eps = 1e-3);
// The controller's multiplier clamp(m^(1 - r/goal), 1/m, m); 1 when goal <= 0.
double controller_factor(double flops_reduction, double goal, double max_factor = 2.0);
// The schedule's goal after sparse epoch `epoch` (0-based).
double controller_goal(const RegularizerOptions& options, int epoch);
// a_l for every conv (0 where the conv has no gate of that kind).
std::vector<double> structure_terms(const ModelCount& count, const GraphAnalysis& analysis,
                                    const PruneState& state, const Granularity& kind);

// Keeps references to the model, the analysis and the state: they must
// outlive it.
class AdaptiveL1 {
 public:
  AdaptiveL1(nn::Module& model, const GraphAnalysis& analysis, const PruneState& state, RegularizerOptions options);

  // Recomputes every gate's strength from the current model and hands it to
  // the optimizer (set_l1). Call at the start of sparse training and whenever
  // masks change; end_epoch calls it.
  void apply(optim::SGD& optimizer);
  // After sparse epoch `epoch` (0-based): measures r, steps lambda0 (adaptive
  // mode with a target), records the trace and re-applies. Returns r.
  double end_epoch(int epoch, optim::SGD& optimizer);
  // Removes the L1 from every gate (before fine-tuning).
  void clear(optim::SGD& optimizer);

  // The strength tensors apply() would hand over, one per gate tensor.
  std::vector<std::pair<GateTensor, Tensor>> strengths();

  double lambda0() const { return lambda0_; }
  void set_lambda0(double value);  // to resume
  const std::vector<LambdaTraceEntry>& trace() const { return trace_; }
  const RegularizerOptions& options() const { return options_; }

 private:
  nn::Module& model_;
  const GraphAnalysis& analysis_;
  const PruneState& state_;
  RegularizerOptions options_;
  double lambda0_;
  std::vector<LambdaTraceEntry> trace_;
};

}  // namespace prune
}  // namespace prunus
