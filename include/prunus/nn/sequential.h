// Sequential: runs its children in order. Children are named "0", "1", ...
// when added without a name, or by the given name ("conv1", "layer1", ...).
#pragma once
#include <memory>
#include <string>

#include "prunus/nn/module.h"

namespace prunus {
namespace nn {

class Sequential : public Module {
 public:
  Sequential() = default;
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Sequential"; }

  // Returns the module so a caller can keep a typed handle.
  template <class M>
  std::shared_ptr<M> add(std::shared_ptr<M> module) {
    return add(std::to_string(children().size()), std::move(module));
  }
  template <class M>
  std::shared_ptr<M> add(const std::string& name, std::shared_ptr<M> module) {
    return register_module(name, std::move(module));
  }
  size_t size() const { return children().size(); }
  Module& operator[](size_t index) const;
};

}  // namespace nn
}  // namespace prunus
