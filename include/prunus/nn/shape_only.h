// Shape-only forward passes. While a ShapeOnlyGuard is active, Conv2d and
// Linear skip their arithmetic: they check the shapes, output zeros of the
// right shape and still record their "conv2d"/"linear" node (same inputs and
// attributes as the ops), so counting MACs of ResNet-50 at 224x224 costs
// almost nothing. The cheap ops (BN, ReLU, pooling, add, concat) run normally.
// Only for analysis of the graph's shapes: the outputs are not the model's.
#pragma once

namespace prunus {
namespace nn {

class ShapeOnlyGuard {
 public:
  ShapeOnlyGuard();
  ~ShapeOnlyGuard();
  ShapeOnlyGuard(const ShapeOnlyGuard&) = delete;
  ShapeOnlyGuard& operator=(const ShapeOnlyGuard&) = delete;

 private:
  bool previous_;
};

bool shape_only_active();

}  // namespace nn
}  // namespace prunus
