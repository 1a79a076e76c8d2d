// Conv2d with the pruning state the pruner drives. Dense until enabled:
//   mask          buffer    [F,C,K,K] of 0/1  (fixed structure)
//   stripe_gate   parameter [F,1,K,K], init 1 (one gate per filter and kernel position)
//   channel_gate  parameter [F,C,1,1], init 1 (one gate per filter and input channel)
//   constant_input_weight  buffer [F,1,K,K]: what removed input channels that
//                 were constant still add (see add_constant_input_response)
// forward(x) = conv2d(x, effective_weight(), bias), so gradients reach the
// gates through the recorded multiplications.
#pragma once
#include "prunus/nn/module.h"

namespace prunus {
namespace nn {

// y + conv2d(ones [1,1,H,W], w, stride, padding), broadcast over the batch,
// where x is the [N,C,H,W] input that gave y; y itself when w is undefined.
// When a removed producer filter left a constant value v_c in input channel
// c, w = sum_c v_c * W[:,c] reproduces exactly what that channel added,
// zero-padded borders included (a per-channel bias is exact only inside).
// Costs one conv of a single one-channel image per call, whatever the batch.
// When no graph is recorded (inference) it adds into y in place and returns y.
Tensor add_constant_input_response(const Tensor& y, const Tensor& x, const Tensor& w, int stride, int padding);

class Conv2d : public Module {
 public:
  Conv2d(int in_channels, int out_channels, int kernel_size, int stride = 1, int padding = 0, bool bias = false);

  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Conv2d"; }
  void describe_attributes(ModuleAttributes& attributes) const override;

  // weight * stripe_gate * channel_gate * mask, skipping the undefined ones
  // (recorded with ops::mul); the weight itself when all are undefined.
  Tensor effective_weight() const;

  // Create the tensor if undefined (gates 1, mask all ones); no-op otherwise.
  void enable_mask();
  void enable_stripe_gate();
  void enable_channel_gate();
  void enable_constant_input();  // zeros
  // Back to dense for that part (the tensor becomes undefined).
  void disable_mask() { mask = Tensor(); }
  void disable_stripe_gate() { stripe_gate = Tensor(); }
  void disable_channel_gate() { channel_gate = Tensor(); }

  // Multiplies the gates and mask into weight and disables them, so the
  // module computes the same function densely (no-op when dense).
  void fold_pruning_state_into_weight();

  Shape weight_shape() const { return {out_channels, in_channels, kernel_size, kernel_size}; }

  int in_channels, out_channels, kernel_size, stride, padding;
  Tensor weight;        // [F,C,K,K], Kaiming normal (fan_out)
  Tensor bias;          // [F] or undefined
  Tensor mask;          // see above
  Tensor stripe_gate;
  Tensor channel_gate;
  Tensor constant_input_weight;

 private:
  void check_state() const;  // the tensors match the integer fields
};

}  // namespace nn
}  // namespace prunus
