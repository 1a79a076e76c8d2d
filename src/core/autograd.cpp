#include "prunus/autograd.h"

#include <unordered_map>
#include <unordered_set>

namespace prunus {

static thread_local bool g_grad_enabled = true;
static thread_local bool g_trace_forced = false;
static thread_local std::string g_module_name;

bool grad_enabled() { return g_grad_enabled; }

NoGradGuard::NoGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = previous_; }

TraceGuard::TraceGuard() : previous_(g_trace_forced) { g_trace_forced = true; }
TraceGuard::~TraceGuard() { g_trace_forced = previous_; }

ModuleScope::ModuleScope(const std::string& module_name) : previous_(g_module_name) {
  g_module_name = module_name;
}
ModuleScope::~ModuleScope() { g_module_name = previous_; }
const std::string& current_module() { return g_module_name; }

bool would_record(const std::vector<Tensor>& inputs) {
  if (g_trace_forced) return true;
  if (g_grad_enabled)
    for (const Tensor& t : inputs)
      if (t.defined() && t.requires_grad()) return true;
  return false;
}

std::shared_ptr<Node> record_op(const std::string& op, Tensor& output, std::vector<Tensor> inputs,
                                BackwardFn backward, std::map<std::string, double> attributes) {
  if (!would_record(inputs)) return nullptr;
  const OpKind* kind = find_op_kind(op);
  PRUNUS_CHECK(kind, "autograd: op '", op, "' is not in the op table; add its row (MAC and channel rules) to ",
               "src/core/op_kinds.cpp");
  auto node = std::make_shared<Node>();
  node->op = op;
  node->kind = kind;
  node->inputs = std::move(inputs);
  node->output_shape = output.shape();
  node->module = g_module_name;
  node->attributes = std::move(attributes);
  node->backward = std::move(backward);
  output.impl()->grad_fn = node;
  output.impl()->requires_grad = true;
  return node;
}

std::vector<std::shared_ptr<Node>> topological_order(const Tensor& root) {
  std::vector<std::shared_ptr<Node>> order;
  if (!root.defined() || !root.grad_fn()) return order;
  // Iterative post-order DFS: a node is emitted after all its producers.
  std::unordered_set<const Node*> visited;
  std::vector<std::pair<std::shared_ptr<Node>, size_t>> stack;
  stack.emplace_back(root.grad_fn(), 0);
  visited.insert(root.grad_fn().get());
  while (!stack.empty()) {
    auto& [node, next_input] = stack.back();
    if (next_input < node->inputs.size()) {
      const Tensor& input = node->inputs[next_input++];
      if (input.defined() && input.grad_fn() && visited.insert(input.grad_fn().get()).second)
        stack.emplace_back(input.grad_fn(), 0);
    } else {
      order.push_back(node);
      stack.pop_back();
    }
  }
  return order;
}

void run_backward(const Tensor& root, const Tensor& seed) {
  PRUNUS_CHECK(root.requires_grad(), "backward on a tensor that does not require a gradient "
               "(no parameter or input with requires_grad reaches it, or it was computed under NoGradGuard)");
  check_same_shape("backward seed", root, seed);
  if (!root.grad_fn()) {  // a leaf: the seed is its gradient
    Tensor leaf = root;
    if (leaf.grad().defined()) {
      Tensor g = leaf.grad();
      add_into(g, seed);
    } else {
      leaf.set_grad(seed.clone());
    }
    return;
  }
  const auto order = topological_order(root);
  std::unordered_map<const Node*, Tensor> output_grads;
  output_grads[root.grad_fn().get()] = seed.clone();
  // A backward function may return one tensor for several inputs (add does):
  // a tensor already stored somewhere is cloned before it is stored again, so
  // that accumulating into one slot never changes another.
  std::unordered_set<const TensorImpl*> stored;
  auto unaliased = [&stored](const Tensor& g) {
    return stored.insert(g.impl()).second ? g : g.clone();
  };
  NoGradGuard no_grad;  // backward functions must not record
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Node* node = it->get();
    auto found = output_grads.find(node);
    if (found == output_grads.end()) continue;  // no gradient flows here
    Tensor grad_output = found->second;
    output_grads.erase(found);
    stored.erase(grad_output.impl());
    if (!node->backward) continue;
    std::vector<Tensor> input_grads = node->backward(grad_output);
    PRUNUS_CHECK(input_grads.size() == node->inputs.size(), "internal: backward of '", node->op,
                 "' returned ", input_grads.size(), " gradients for ", node->inputs.size(), " inputs");
    for (size_t i = 0; i < input_grads.size(); ++i) {
      Tensor& g = input_grads[i];
      Tensor input = node->inputs[i];
      if (!g.defined() || !input.defined() || !input.requires_grad()) continue;
      check_same_shape(node->op.c_str(), input, g);
      if (input.grad_fn()) {
        auto slot = output_grads.find(input.grad_fn().get());
        if (slot == output_grads.end())
          output_grads.emplace(input.grad_fn().get(), unaliased(g));
        else
          add_into(slot->second, g);
      } else if (input.grad().defined()) {
        Tensor accumulated = input.grad();
        add_into(accumulated, g);
      } else {
        input.set_grad(unaliased(g));
      }
    }
  }
}

}  // namespace prunus
