// A pruning granularity: which groups of a conv's weights one gate switches
// off, where that gate lives, and how the pruner, the count, the regularizer,
// compaction and the report treat its groups. Each granularity is one file
// (src/prune/granularity_<name>.cpp); the registry below lists them, and
// everything else asks the registry instead of naming kinds.
//
// A group is given by a pattern over the weight [F,C,K,K] (nn::ConvGatePattern):
// the dimensions it keeps index the groups, the others are the group's
// weights. filter keeps none (one group per filter), stripe keeps the kernel
// positions, channel the input channels, weight all four (a group is one
// weight). The generic machinery (flops.cpp, pruner.cpp, gate_zeroing.cpp,
// regularizer.cpp, report.cpp) works from the pattern alone:
//   a group is alive while some weight of it is not zero (effective weight)
//   and reads a live input channel; the weights of a dead group count as
//   removed by the first granularity (fine_order) whose group is dead;
//   fine pruning masks the weights of every group whose gate is exactly zero.
// Built in, in registry order: filter, channel, stripe, weight. A new fine
// granularity is usually a ConvGateGranularity with its name, pattern and
// fine_order (tests/test_prune_granularity.cpp defines kernel rows in a few
// lines).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "prunus/nn/conv2d.h"
#include "prunus/tensor.h"

namespace prunus {
namespace prune {

struct CompactOptions;
struct CompactedConv;
struct ConvLayer;
struct GraphAnalysis;
struct ModelCount;

// A conv as compaction hands it over: thinned to its kept filters and inputs,
// gates and mask multiplied in.
struct ThinConv {
  Tensor weight;          // [F',C',K,K]
  Tensor bias;            // [F'] or undefined
  Tensor constant_input;  // [F',1,K,K] or undefined (see Conv2d::constant_input_weight)
  int stride = 1, padding = 0;
};

// The conv a gate belongs to: its full name, the BN right after it ("" if
// none) and whether it is dimension-matching (D).
struct GateSite {
  std::string conv, bn;
  bool in_d = false;
};

class Granularity {
 public:
  virtual ~Granularity() = default;

  virtual std::string name() const = 0;  // the word in prune.granularities: "stripe"
  virtual std::string plural() const { return name() + "s"; }  // in logs: "12 stripes masked"
  virtual nn::ConvGatePattern pattern() const = 0;
  // The coarse granularity: a dead group is a removed filter (an output
  // channel the consumers lose), not a masked part of the weight.
  virtual bool removes_filters() const { return false; }
  // Fine granularities are applied, counted and reported in this order,
  // coarser first: stripe 10, channel 20, weight 1000 (always last).
  virtual int fine_order() const { return 50; }
  // Whether the plan may put a gate of this kind on the conv (filter: only
  // outside D and with a BN to carry the gate).
  virtual bool applies_to(const ConvLayer& conv) const;

  // The gate tensor of the conv, undefined while not enabled.
  virtual Tensor gate(nn::Module& model, const GateSite& conv) const = 0;
  // True when the gate is the conv weight itself (weight): nothing to create,
  // and fine pruning acts only where the plan enables the kind.
  virtual bool gate_is_weight() const { return false; }
  // Creates the gate (ones) where it does not exist yet; safe before a checkpoint is loaded.
  virtual void enable(nn::Module& model, const GateSite& conv) const;
  // Sets the gate to its starting value for sparse training (filter: the BN
  // gammas to bn_gate_init, as Network Slimming does). Default: nothing.
  virtual void initialize(nn::Module& model, const GateSite& conv, double bn_gate_init) const;

  // The MACs the groups of this conv stand for together, the numerator of
  // the regularizer's a_l (divided by the alive groups): the conv's alive
  // MACs; a filter also stands for its consumers' MACs.
  virtual double structure_macs(const ModelCount& count, const GraphAnalysis& analysis, size_t conv) const;
  // Whether the JSON report lists "<plural>_alive" per layer.
  virtual bool alive_count_in_report() const { return false; }
  // A module that runs the thinned conv faster than a dense conv with zeros
  // (stripe: a StripeConv2d where the cost model says so), filling `info`;
  // nullptr to leave it dense. Compaction asks the fine granularities in
  // fine_order and takes the first answer.
  virtual std::shared_ptr<nn::Module> compact_conv(const ThinConv& conv, const CompactOptions& options,
                                                   CompactedConv& info) const;

  // Position in the registry (set on registration).
  int id() const { return id_; }

 private:
  friend struct GranularityRegistry;
  int id_ = -1;
};

// A fine granularity whose gate is a tensor of its own on the conv,
// nn::Conv2d::gate(name()), shaped by pattern() (stripe, channel).
class ConvGateGranularity : public Granularity {
 public:
  Tensor gate(nn::Module& model, const GateSite& conv) const override;
  void enable(nn::Module& model, const GateSite& conv) const override;
};

// Every registered granularity, in registry order.
const std::vector<const Granularity*>& granularities();
// The fine ones (not removes_filters), in fine_order.
std::vector<const Granularity*> fine_granularities();
// Throws listing the registered names when `name` is not one.
const Granularity& granularity(const std::string& name);
const Granularity* find_granularity(const std::string& name);
// "filter, channel, stripe, weight"
std::string granularity_names(const std::string& separator = ", ");

// Adds a granularity at the end of the registry; its name must be new. A
// ConvGateGranularity's pattern becomes a gate kind of nn::Conv2d.
void register_granularity(std::shared_ptr<Granularity> granularity);
// Removes a granularity registered by register_granularity (tests); the
// built-in ones stay.
void unregister_granularity(const std::string& name);

// The index of the group of weight (f, c, row, column) in a gate of this
// pattern over a conv with C input channels and K x K kernels.
inline int64_t group_index(const nn::ConvGatePattern& p, int64_t C, int64_t K, int64_t f, int64_t c, int64_t row,
                           int64_t column) {
  const int64_t channels = p.channels ? C : 1, rows = p.rows ? K : 1, columns = p.columns ? K : 1;
  return ((f * channels + (p.channels ? c : 0)) * rows + (p.rows ? row : 0)) * columns + (p.columns ? column : 0);
}
// Groups per filter.
inline int64_t groups_per_filter(const nn::ConvGatePattern& p, int64_t C, int64_t K) {
  return (p.channels ? C : 1) * (p.rows ? K : 1) * (p.columns ? K : 1);
}

}  // namespace prune
}  // namespace prunus
