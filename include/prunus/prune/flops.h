// Alive multiply-accumulates and parameters of a masked model, per layer and
// in total, as they would be after pruning every gate that is now exactly zero.
// Convention (PRUNING.md): MACs of convs and linear layers for one image;
// params count every learnable tensor except the pruning gates, BN gamma and
// beta included.
// What is alive:
//   filter f of a conv not in D: its BN gamma (if it has a BN) is not zero and
//     some effective weight of it is not zero (otherwise its output is a
//     constant that pruning folds away); filters of convs in D always stay;
//     when no filter of a conv is alive, the strongest counts as alive
//     (pruning never removes every filter, see strongest_filter());
//   input channel c: not a dead filter of the conv (or linear input features
//     of the flattened channel) that produces it;
//   weight (f,c,i,j): f and c alive and its effective weight (weight * gates
//     * mask) is not zero;
//   group of a fine granularity (granularity.h): some weight of it alive.
// MACs = alive weights * OH * OW (convs), alive inputs * outputs (linears).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "prunus/prune/analysis.h"
#include "prunus/prune/granularity.h"

namespace prunus {
namespace nn {
class Module;
}
namespace prune {

struct LayerCount {
  std::string name;
  bool is_conv = true;
  bool in_d = false;
  Shape dense_shape;            // conv weight [F,C,K,K] or linear weight [out,in]
  int64_t dense_macs = 0, macs = 0;
  int64_t dense_params = 0, params = 0;  // weight, bias and (convs) the BN right after it
  int64_t filters = 0, filters_alive = 0;    // output channels (linear: outputs, never pruned)
  int64_t inputs = 0, inputs_alive = 0;      // input channels (linear: input features)
  // Dense weights, split by what removed them: a dead filter, a dead input,
  // then the fine granularities in fine_order; weights - all removed = alive.
  int64_t weights = 0, weights_alive = 0;
  int64_t removed_by_filter = 0;   // in dead filters of this conv
  int64_t removed_by_input = 0;    // reading dead filters of the producer
  // Per granularity (indexed by id; convs only): its groups with a live
  // weight, in alive filters (filter: filters_alive), and the weights it
  // removed (filter: removed_by_filter).
  std::vector<int64_t> groups_alive, removed_by_granularity;
  int64_t alive_groups(const Granularity& g) const;
  int64_t removed_by(const Granularity& g) const;
  std::vector<uint8_t> filter_alive;  // convs only, [F]
  std::vector<int64_t> nonzero_weights;  // convs only, [F]: non-zero effective weights per filter
  std::vector<uint8_t> input_alive;   // convs: [C]; linears: [in]
};

struct ModelCount {
  std::vector<LayerCount> convs;    // parallel to GraphAnalysis::convs
  std::vector<LayerCount> linears;  // parallel to GraphAnalysis::linears
  int64_t dense_macs = 0, macs = 0;
  int64_t dense_params = 0, params = 0;  // the whole model (gates excluded)
  double flops_reduction() const;   // 1 - macs / dense_macs
  double params_reduction() const;
};

ModelCount count_model(nn::Module& model, const GraphAnalysis& analysis);

// The FLOPs reduction r that pruning the gates that are now exactly zero gives.
double flops_reduction(nn::Module& model, const GraphAnalysis& analysis);

}  // namespace prune
}  // namespace prunus
