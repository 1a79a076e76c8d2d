// A pruning method: the settings it runs the shared machinery with (its
// preset) and its hooks into the prune stage. Each method is one file
// (src/prune/method_<name>.cpp); the registry below is the only list of their
// names, and the pipeline knows stages, not methods (PRUNING.md):
//   full           filter + stripe gates, adaptive L1 (the paper's method, our reading)
//   full_plain_l1  filter + stripe gates, constant lambda (the ablation)
//   slimming       filter gates only (BN gamma), constant lambda (Network Slimming)
//   swp            stripe gates only, constant lambda, stripes below 0.01 pruned (SWP)
//   l1norm         no sparse training: filters of convs not in D ranked by the
//                  L1 norm of their weights and removed, weakest first, until
//                  the FLOPs target (baselines.h)
// With a FLOPs target, every gate method is topped up to it by the pruner.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "prunus/prune/analysis.h"
#include "prunus/prune/gate_zeroing.h"
#include "prunus/prune/gates.h"
#include "prunus/prune/pruner.h"

namespace prunus {
namespace nn {
class Module;
}
namespace prune {

class PruningMethod;

struct MethodPreset {
  const PruningMethod* method = nullptr;
  std::string name;
  Granularities granularities;
  bool granularities_configurable = false;  // prune.granularities replaces them (full, full_plain_l1)
  bool sparse_training = true;   // false: prune the trained model directly
  bool adaptive = true;          // adaptive L1, or constant lambda
  bool use_thresholds = false;   // prune gates below a threshold before the top-up
  std::map<std::string, double> thresholds;  // by granularity name, with use_thresholds
  double threshold(const Granularity& kind) const;  // 0 when absent
  // The top-up's ranking when prune.topup_ranking = auto. Ours: within each
  // conv, since the adaptive penalty makes the gates of high-MAC convs small,
  // and a model-wide ranking then empties those convs first (R20 -70%: 77.75%
  // val with kind, 86.90% with layer). The baselines keep their papers'
  // global ranking.
  GateNormalization top_up_ranking = GateNormalization::Kind;
  std::string description;
};

class PruningMethod {
 public:
  virtual ~PruningMethod() = default;
  virtual std::string name() const = 0;  // the word in prune.method and compare.methods
  virtual MethodPreset preset() const = 0;
  // The prune stage's first half: zero what is to go, toward options'
  // target; the model still computes what its gates say. Default: enable
  // the plan's gates, then thresholds and the top-up (zero_gates_for_target).
  virtual PruneOutcome zero_for_target(nn::Module& model, const GraphAnalysis& analysis, const PruneState& state,
                                       const PrunerOptions& options) const;
  // Its second half: remove what the zeros silence, appending to out.log.
  // Default: coarse then fine (remove_zeroed_structures).
  virtual void remove_zeroed(nn::Module& model, const GraphAnalysis& analysis, const PruneState& state,
                             PruneOutcome& out) const;
};

// The preset of a registered method (its `method` points back to it); throws
// listing the names otherwise.
MethodPreset method_preset(const std::string& name);
std::vector<std::string> method_names();  // in registry order
// Adds a method at the end of the registry; its name must be new.
void register_method(std::shared_ptr<PruningMethod> method);
// Removes a method registered at run time (built-ins stay); no preset of it may
// still be in use.
void unregister_method(const std::string& name);

}  // namespace prune
}  // namespace prunus
