// Pooling and reshaping layers (no parameters).
#pragma once
#include "prunus/nn/module.h"

namespace prunus {
namespace nn {

// Shared settings of the windowed pools; stride <= 0 means stride = kernel_size.
class WindowPool : public Module {
 public:
  WindowPool(int kernel_size, int stride, int padding);
  void describe_attributes(ModuleAttributes& attributes) const override;
  int kernel_size, stride, padding;
};

class MaxPool2d : public WindowPool {
 public:
  explicit MaxPool2d(int kernel_size, int stride = 0, int padding = 0) : WindowPool(kernel_size, stride, padding) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "MaxPool2d"; }
};

// Padded positions count as zeros (count_include_pad).
class AvgPool2d : public WindowPool {
 public:
  explicit AvgPool2d(int kernel_size, int stride = 0, int padding = 0) : WindowPool(kernel_size, stride, padding) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "AvgPool2d"; }
};

// [N,C,H,W] -> [N,C]
class GlobalAvgPool : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "GlobalAvgPool"; }
};

// [N, ...] -> [N, rest]
class Flatten : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Flatten"; }
};

}  // namespace nn
}  // namespace prunus
