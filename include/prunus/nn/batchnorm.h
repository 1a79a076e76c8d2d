// Batch normalization layers: weight (gamma, init 1) and bias (beta, init 0)
// are parameters; running_mean (init 0) and running_var (init 1) are buffers
// updated in training mode with momentum (PyTorch's convention).
#pragma once
#include "prunus/nn/module.h"

namespace prunus {
namespace nn {

// Shared by the 2-d ([N,C,H,W]) and 1-d ([N,C]) variants.
class BatchNormBase : public Module {
 public:
  BatchNormBase(int channels, double momentum, double eps);
  void describe_attributes(ModuleAttributes& attributes) const override;

  int channels;
  double momentum, eps;
  Tensor weight, bias;               // gamma, beta: [C]
  Tensor running_mean, running_var;  // [C]

 protected:
  void check_state(const char* type) const;
};

class BatchNorm2d : public BatchNormBase {
 public:
  explicit BatchNorm2d(int channels, double momentum = 0.1, double eps = 1e-5)
      : BatchNormBase(channels, momentum, eps) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "BatchNorm2d"; }
};

class BatchNorm1d : public BatchNormBase {
 public:
  explicit BatchNorm1d(int channels, double momentum = 0.1, double eps = 1e-5)
      : BatchNormBase(channels, momentum, eps) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "BatchNorm1d"; }
};

}  // namespace nn
}  // namespace prunus
