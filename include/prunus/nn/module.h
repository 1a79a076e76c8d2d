// Module: a node of the model tree. It owns named parameters and buffers
// (registered as pointers to its own member Tensors, so a pruner may assign a
// new, smaller tensor to a member and the module sees it) and named children.
// Every module knows its full dotted name from the root ("layer1.0.conv1",
// the root is ""); names are re-assigned recursively whenever a subtree is
// attached somewhere else, so the names recorded in traced autograd nodes
// always match named_modules().
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "prunus/tensor.h"

namespace prunus {
namespace nn {

class ModuleAttributes;

// Which parameters to list. Gates (stripe_gate, channel_gate) are training
// aids of the pruner: they are learnable, but they are not part of the model
// that is counted or deployed.
enum class ParameterFilter { All, ExcludeGates, GatesOnly };

class Module : public std::enable_shared_from_this<Module> {
 public:
  Module() = default;
  virtual ~Module();
  // Parameter slots point into the object itself: never copy or move one.
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  virtual Tensor forward(const Tensor& x) = 0;
  // Runs forward() inside ModuleScope(full_name()), so recorded nodes name it.
  Tensor operator()(const Tensor& x);
  virtual std::string type_name() const = 0;  // "Conv2d", "BatchNorm2d", "BasicBlock", ...

  // The settings needed to rebuild this module (see nn/description.h).
  // Children are described separately; only the module's own integers and
  // floats go here.
  virtual void describe_attributes(ModuleAttributes& attributes) const;

  const std::string& full_name() const { return full_name_; }

  // Recursive, full dotted names, pre-order (own tensors first, then children
  // in registration order); undefined slots are skipped.
  std::vector<std::pair<std::string, Tensor>> named_parameters() const;
  std::vector<std::pair<std::string, Tensor>> named_parameters(ParameterFilter filter, bool recurse = true) const;
  std::vector<Tensor> parameters() const;
  std::vector<std::pair<std::string, Tensor>> named_buffers(bool recurse = true) const;

  // Recursive, pre-order, excluding this module; names are full names.
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_modules();
  // Direct children only, with their local names ("conv1", "0").
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const { return children_; }
  bool has_child(const std::string& local_name) const;
  // The direct child named local_name; throws naming this module and its children if absent.
  Module& child(const std::string& local_name) const;
  std::shared_ptr<Module> child_ptr(const std::string& local_name) const;
  // The module whose full_name() is full_name (this module itself if it
  // matches); nullptr if none.
  std::shared_ptr<Module> find_module(const std::string& full_name);

  // Swaps a child for another (compaction uses it). path is a direct child's
  // name or a dotted path below this module ("layer1.0.conv1" on the root).
  // The new module takes the old one's name and training mode.
  void replace_module(const std::string& path, std::shared_ptr<Module> replacement);

  void train(bool on = true);  // recursive
  void eval() { train(false); }
  bool training() const { return training_; }

 protected:
  // is_gate marks pruning gates (see ParameterFilter). A defined tensor is
  // switched to requires_grad on registration.
  void register_parameter(const std::string& name, Tensor* slot, bool is_gate = false);
  void register_buffer(const std::string& name, Tensor* slot);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    attach_child(name, module);
    return module;
  }

 private:
  struct TensorSlot {
    std::string name;
    Tensor* slot;
    bool is_gate;
  };
  void attach_child(const std::string& name, std::shared_ptr<Module> module);
  void assign_full_name(const std::string& full_name);  // recursive
  std::string qualified(const std::string& local_name) const;
  std::string child_names() const;
  void collect_parameters(ParameterFilter filter, bool recurse,
                          std::vector<std::pair<std::string, Tensor>>& out) const;
  void collect_buffers(bool recurse, std::vector<std::pair<std::string, Tensor>>& out) const;
  void collect_modules(std::vector<std::pair<std::string, std::shared_ptr<Module>>>& out);

  std::string full_name_;
  bool training_ = true;
  std::vector<TensorSlot> parameters_;
  std::vector<TensorSlot> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

}  // namespace nn
}  // namespace prunus
