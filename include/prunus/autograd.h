// Define-by-run autograd. Each op that sees an input requiring a gradient
// records a Node: its kind, its inputs, its output shape, the module that ran
// it and a backward function. backward() walks the nodes in reverse
// topological order; a tensor used twice receives both contributions.
// The same graph is what the pruning analysis walks to find residual adds
// and concatenations.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "prunus/op_kinds.h"
#include "prunus/tensor.h"

namespace prunus {

// Returns one gradient per input, in input order; an undefined Tensor where
// the input gets none. Gradients are fresh tensors: the engine accumulates.
using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_output)>;

struct Node {
  std::string op;              // "conv2d", "batchnorm2d", "add", "concat", ...
  const OpKind* kind = nullptr;  // its row of the op table (op_kinds.h), set by record_op
  std::vector<Tensor> inputs;  // in the op's argument order, parameters included
  Shape output_shape;
  std::string module;          // full name of the module that ran the op, "" if none
  std::map<std::string, double> attributes;  // op settings worth reading (stride, padding, ...)
  BackwardFn backward;
};

// Whether ops record nodes. Off inside a NoGradGuard.
bool grad_enabled();

class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// Forces recording even when no input requires a gradient, so that a forward
// pass in eval mode can be traced for analysis.
class TraceGuard {
 public:
  TraceGuard();
  ~TraceGuard();
  TraceGuard(const TraceGuard&) = delete;
  TraceGuard& operator=(const TraceGuard&) = delete;

 private:
  bool previous_;
};

// Names the module whose forward is running; nodes recorded meanwhile carry it.
class ModuleScope {
 public:
  explicit ModuleScope(const std::string& module_name);
  ~ModuleScope();
  ModuleScope(const ModuleScope&) = delete;
  ModuleScope& operator=(const ModuleScope&) = delete;

 private:
  std::string previous_;
};
const std::string& current_module();

// Whether record_op would record a node with these inputs: an op may then
// work in place on a tensor only it holds, since no backward needs it.
bool would_record(const std::vector<Tensor>& inputs);

// Called by ops after computing `output`. Records a node when grad is enabled
// and some input requires a gradient (or a TraceGuard is active); then output
// requires a gradient. Returns the node, or nullptr when nothing was recorded.
std::shared_ptr<Node> record_op(const std::string& op, Tensor& output, std::vector<Tensor> inputs,
                                BackwardFn backward,
                                std::map<std::string, double> attributes = {});

// All nodes reachable from root, each after the nodes that produce its inputs.
std::vector<std::shared_ptr<Node>> topological_order(const Tensor& root);

// Backpropagates seed (same shape as root) into every leaf that requires a grad.
void run_backward(const Tensor& root, const Tensor& seed);

}  // namespace prunus
