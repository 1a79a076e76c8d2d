// SGD with parameter groups, momentum (PyTorch's formulation), Nesterov and
// weight decay, plus the two things pruning needs from the optimizer:
//   - masks: masked elements of a parameter, of its gradient and of its
//     momentum are exactly zero and stay exactly zero;
//   - a proximal L1 step (soft-thresholding) after the update, so that
//     L1-regularized gates reach exact zeros instead of hovering near them.
// One step, per element of a parameter p with gradient g (PyTorch's SGD):
//   g <- mask ? g : 0                       (written back into p.grad())
//   g <- g + weight_decay * p
//   buf <- momentum * buf + g               (buf starts at 0; none if momentum == 0)
//   update <- nesterov ? g + momentum * buf : buf      (g if momentum == 0)
//   p <- p - lr * lr_scale * update
//   p, buf <- 0 where mask == 0
//   p <- sign(p) * max(|p| - lr * lr_scale * strength, 0)     (if set_l1)
// Arithmetic runs in the parameter's dtype (float32 or float64), CPU only.
// Every step is elementwise, so results do not depend on the thread count.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "prunus/tensor.h"

namespace prunus {
namespace optim {

struct ParamGroup {
  std::string name;  // unique among the groups; names the momentum buffers in state()
  std::vector<Tensor> params;
  double lr_scale = 1.0;  // this group's lr = optimizer lr * lr_scale
  double momentum = 0.9;
  bool nesterov = false;  // needs momentum > 0
  double weight_decay = 0.0;
};

struct SgdOptions {
  // When the proximal step sets an element to exactly zero, also zero its
  // momentum. Why: the buffer still holds the velocity that carried the
  // element towards zero (and past it); left in place it moves the element out
  // of zero on the next step by lr * momentum * buf even when the current
  // gradient is too weak to beat the threshold, so zeros would flicker instead
  // of staying. With the reset, a zero leaves only when lr * |current update|
  // exceeds the threshold. This is our choice, not PyTorch's; false keeps the
  // momentum as it is.
  bool reset_momentum_on_zero = true;
  // > 0: the proximal step shrinks by l1_step_size * lr_scale * strength
  // whatever the scheduled lr, so an L1 strength is a shrink per step that a
  // decaying schedule does not fade out; 0: by the current lr * lr_scale.
  double l1_step_size = 0.0;
};

class SGD {
 public:
  // Throws on a negative or non-finite lr, lr_scale, momentum or weight decay,
  // Nesterov without momentum, duplicate group names, an undefined, non-CPU or
  // repeated parameter.
  SGD(std::vector<ParamGroup> groups, double lr, SgdOptions options = {});

  // Updates every parameter that has a gradient; the others are skipped and
  // their momentum is left as it is.
  void step();
  void zero_grad();  // drops every parameter's gradient

  void set_lr(double lr);
  double lr() const { return lr_; }
  // See SgdOptions::l1_step_size (throws on a negative or non-finite value).
  void set_l1_step_size(double step_size);
  const std::vector<ParamGroup>& groups() const { return groups_; }
  const SgdOptions& options() const { return options_; }

  // mask: param's shape, values 0 or 1, any dtype; copied (call again after
  // changing it). The parameter and its momentum are zeroed under the mask at
  // once, and kept at zero by every step.
  void set_mask(const Tensor& param, const Tensor& mask);
  void clear_mask(const Tensor& param);
  bool has_mask(const Tensor& param) const;

  // strength: param's shape or one element, finite and >= 0, any dtype;
  // copied. Calling it again replaces the strength (the regularizer does so
  // every epoch).
  void set_l1(const Tensor& param, const Tensor& strength);
  void clear_l1(const Tensor& param);
  bool has_l1(const Tensor& param) const;

  // Momentum buffer of a parameter; undefined until its first step with a
  // gradient (or when its group has momentum 0). Shares storage with the
  // optimizer: read it, do not keep it across steps.
  Tensor momentum_buffer(const Tensor& param) const;

  // Momentum buffers for checkpoints, as copies, keyed "<group>/<param name>"
  // or "<group>/<index in group>" when the tensor has no name.
  std::vector<std::pair<std::string, Tensor>> state() const;
  // Replaces the whole momentum state with `entries` (as returned by state()):
  // parameters without an entry get no buffer, exactly as before their first
  // step, so a resumed run continues bit-identically. Throws, before changing
  // anything, on an unknown or repeated key, a shape mismatch or a key of a
  // group without momentum. A dtype different from the parameter's is converted.
  void load_state(const std::vector<std::pair<std::string, Tensor>>& entries);
  // The L1 strengths set (copies), keyed as state(); loading sets those given
  // and leaves the others. Throws, before changing anything, on an unknown key
  // or a strength set_l1 would refuse.
  std::vector<std::pair<std::string, Tensor>> l1_strengths() const;
  void load_l1_strengths(const std::vector<std::pair<std::string, Tensor>>& entries);

 private:
  struct ParamState {
    Tensor param;
    int group = 0;
    int index = 0;          // position in its group
    Tensor momentum;        // param's shape and dtype; undefined until needed
    Tensor mask;            // param's dtype, 0/1; undefined if none
    Tensor l1_strength;     // param's dtype, param's shape or one element; undefined if none
  };
  ParamState& find(const Tensor& param, const char* caller);
  const ParamState& find(const Tensor& param, const char* caller) const;
  std::string state_key(const ParamState& state) const;
  void step_param(ParamState& state);

  std::vector<ParamGroup> groups_;
  double lr_;
  SgdOptions options_;
  std::vector<ParamState> states_;  // in group order, then parameter order
  std::unordered_map<const TensorImpl*, size_t> index_of_;
};

// Number of elements exactly equal to zero (either sign), for any CPU tensor.
int64_t count_zeros(const Tensor& tensor);

}  // namespace optim
}  // namespace prunus
