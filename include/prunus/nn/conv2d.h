// Conv2d with the pruning state the pruner drives. Dense until enabled:
//   mask          buffer    [F,C,K,K] of 0/1  (fixed structure)
//   <kind>_gate   parameter, init 1: one gate per group of weights of a
//                 granularity, a shape that broadcasts over [F,C,K,K]
//                 (ConvGatePattern); "stripe" [F,1,K,K] and "channel"
//                 [F,C,1,1] are built in, prune::register_granularity adds others
//   constant_input_weight  buffer [F,1,K,K]: what removed input channels that
//                 were constant still add (see add_constant_input_response)
// forward(x) = conv2d(x, effective_weight(), bias), so gradients reach the
// gates through the recorded multiplications.
#pragma once
#include <deque>
#include <string>
#include <vector>

#include "prunus/nn/module.h"

namespace prunus {
namespace nn {

// Which dimensions of the weight [F,C,K,K] a gate keeps (F always); the
// others have size 1 and broadcast. A stripe gate keeps the kernel rows and
// columns, a channel gate the input channels.
struct ConvGatePattern {
  bool channels = false, rows = false, columns = false;
  Shape shape(int64_t filters, int64_t in_channels, int64_t kernel) const {
    return {filters, channels ? in_channels : 1, rows ? kernel : 1, columns ? kernel : 1};
  }
};

// The gate kinds a Conv2d can hold, in the order their slots are created and
// multiplied into the weight. "stripe" then "channel" come first: every conv
// has their slots, and checkpoints have always listed them. Registering a
// name again with the same pattern is a no-op; with another, an error.
void register_conv_gate_kind(const std::string& kind, ConvGatePattern pattern);
// nullptr when the kind is not registered.
const ConvGatePattern* find_conv_gate_kind(const std::string& kind);

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

  // weight * each defined gate (in slot order) * mask (recorded with
  // ops::mul); the weight itself when all are undefined.
  Tensor effective_weight() const;

  // The gate tensor of a registered kind ("stripe"); undefined while not
  // enabled. Throws naming the kind when it is not registered.
  Tensor& gate(const std::string& kind);
  const Tensor& gate(const std::string& kind) const;
  // The defined gates, (kind, tensor), in slot order.
  std::vector<std::pair<std::string, Tensor>> defined_gates() const;
  bool has_pruning_state() const;  // a mask or a gate is defined

  // Create the tensor if undefined (gates 1, mask all ones); no-op otherwise.
  void enable_mask();
  void enable_gate(const std::string& kind);
  void enable_constant_input();  // zeros
  // Back to dense for that part (the tensor becomes undefined).
  void disable_mask() { mask = Tensor(); }
  void disable_gate(const std::string& kind) { gate(kind) = Tensor(); }

  // Multiplies the gates and mask into weight and disables them, so the
  // module computes the same function densely (no-op when dense).
  void fold_pruning_state_into_weight();

  Shape weight_shape() const { return {out_channels, in_channels, kernel_size, kernel_size}; }

  int in_channels, out_channels, kernel_size, stride, padding;
  Tensor weight;        // [F,C,K,K], Kaiming normal (fan_out)
  Tensor bias;          // [F] or undefined
  Tensor mask;          // see above
  Tensor constant_input_weight;

 private:
  struct GateSlot {
    std::string kind;
    ConvGatePattern pattern;
    Tensor tensor;
  };
  GateSlot* find_slot(const std::string& kind);
  const GateSlot* find_slot(const std::string& kind) const;
  GateSlot& add_slot(const std::string& kind);  // registers the parameter "<kind>_gate"
  void check_state() const;  // the tensors match the integer fields

  std::deque<GateSlot> gates_;  // a deque: registered parameter slots point into it
};

}  // namespace nn
}  // namespace prunus
