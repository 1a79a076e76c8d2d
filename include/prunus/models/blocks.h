// The composite blocks of the model zoo. Children are looked up by name at
// every forward, so a pruner may replace any of them (replace_module) with a
// thinner or different module type and the block still works.
#pragma once
#include <map>
#include <string>

#include "prunus/nn/description.h"
#include "prunus/nn/module.h"

namespace prunus {
namespace models {

// CIFAR ResNet basic block: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)).
// Children: conv1 (3x3, stride), bn1, conv2 (3x3), bn2. Option A shortcut:
// identity, or ops::subsample_pad_channels(x, stride, pad, pad') adding
// out-in zero channels, split evenly (before gets the smaller half), when
// the stride or the channel count changes.
class BasicBlock : public nn::Module {
 public:
  BasicBlock(int in_channels, int out_channels, int stride);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "BasicBlock"; }
  void describe_attributes(nn::ModuleAttributes& attributes) const override;
  int in_channels, out_channels, stride;
};

// ResNet-50 bottleneck (torchvision v1.5: the stride sits on the 3x3):
// relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x))))))) + shortcut(x)),
// conv1 1x1 in->width, conv2 3x3 width->width, conv3 1x1 width->4*width.
// Shortcut: child "downsample" = Sequential{0: Conv2d 1x1/stride, 1: BatchNorm2d}
// when the stride or the channel count changes, identity otherwise.
class Bottleneck : public nn::Module {
 public:
  static constexpr int kExpansion = 4;
  Bottleneck(int in_channels, int width, int stride);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Bottleneck"; }
  void describe_attributes(nn::ModuleAttributes& attributes) const override;
  int in_channels, width, stride;
};

// GoogLeNet-style block for small images: four branches concatenated along
// channels (ops::concat, in this order):
//   branch1x1: 1x1
//   branch3x3: 1x1 reduce -> 3x3
//   branch5x5: 1x1 reduce -> 3x3 -> 3x3 (the 5x5 receptive field, cheaper)
//   branch_pool: maxpool 3x3/1 pad 1 -> 1x1
// each conv followed by BN and ReLU. Output channels c1 + c3 + c5 + pool_proj.
class InceptionBlock : public nn::Module {
 public:
  InceptionBlock(int in_channels, int c1, int c3_reduce, int c3, int c5_reduce, int c5, int pool_proj);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "InceptionBlock"; }
  void describe_attributes(nn::ModuleAttributes& attributes) const override;
  int in_channels, c1, c3_reduce, c3, c5_reduce, c5, pool_proj;
};

}  // namespace models
}  // namespace prunus
