// Fully connected layer: y = x W^T + b, x [N,in], W [out,in], b [out].
// Init as PyTorch's default: W and b uniform in (-1/sqrt(in), 1/sqrt(in)).
#pragma once
#include "prunus/nn/module.h"

namespace prunus {
namespace nn {

class Linear : public Module {
 public:
  Linear(int in_features, int out_features, bool bias = true);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Linear"; }
  void describe_attributes(ModuleAttributes& attributes) const override;

  int in_features, out_features;
  Tensor weight;  // [out, in]
  Tensor bias;    // [out] or undefined

 private:
  void check_state() const;
};

}  // namespace nn
}  // namespace prunus
