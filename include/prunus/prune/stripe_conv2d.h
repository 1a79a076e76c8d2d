// StripeConv2d: the compact form of a conv that lost stripes (kernel
// positions of some filters). It stores only the kept stripes, one row of C
// weights each, and computes with prune::stripe_conv2d, so it trains
// (fine-tuning the compact model) and counts only the kept MACs.
//   weight          parameter [S, C]
//   bias            parameter [F] or undefined
//   stripe_filter   buffer [S]: the filter of each stripe (small integers as floats)
//   stripe_position buffer [S]: its kernel position i*K + j, non-decreasing
//   constant_input_weight buffer [F,1,K,K] or undefined, as in nn::Conv2d
// Saved and rebuilt like any module: the description carries the sizes and S,
// the state carries the layout buffers.
#pragma once
#include <cstdint>
#include <memory>

#include "prunus/nn/module.h"
#include "prunus/prune/stripe_conv_op.h"

namespace prunus {
namespace prune {

class StripeConv2d : public nn::Module {
 public:
  // A module with S stripes whose layout buffers are still zero: load a state
  // (or fill the buffers) before running it.
  StripeConv2d(int in_channels, int out_channels, int kernel_size, int stride, int padding, int64_t stripes,
               bool bias, bool constant_input = false);
  // Keeps every stripe of weight [F,C,K,K] that has a non-zero weight (at
  // least one stripe, so the module is never empty).
  static std::shared_ptr<StripeConv2d> from_dense(const Tensor& weight, const Tensor& bias, int stride, int padding);

  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "StripeConv2d"; }
  void describe_attributes(nn::ModuleAttributes& attributes) const override;

  StripeLayout layout() const;  // from the buffers; throws if they are not a valid layout
  Tensor dense_weight() const;  // [F,C,K,K] with zeros where stripes were removed
  int64_t stripes() const { return weight.size(0); }

  int in_channels, out_channels, kernel_size, stride, padding;
  Tensor weight, bias, stripe_filter, stripe_position, constant_input_weight;
};

}  // namespace prune
}  // namespace prunus
