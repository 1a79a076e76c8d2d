#include "prunus/nn/linear.h"

#include <cmath>

#include "prunus/autograd.h"
#include "prunus/nn/description.h"
#include "prunus/nn/init.h"
#include "prunus/nn/shape_only.h"
#include "prunus/ops.h"

namespace prunus {
namespace nn {

Linear::Linear(int in_features_, int out_features_, bool with_bias)
    : in_features(in_features_), out_features(out_features_) {
  PRUNUS_CHECK(in_features > 0 && out_features > 0, "Linear(in_features=", in_features,
               ", out_features=", out_features, "): both must be positive");
  const double bound = 1.0 / std::sqrt(double(in_features));
  weight = uniform_symmetric({out_features, in_features}, bound);
  if (with_bias) bias = uniform_symmetric({out_features}, bound);
  register_parameter("weight", &weight);
  register_parameter("bias", &bias);
}

void Linear::check_state() const {
  PRUNUS_CHECK(weight.defined() && weight.shape() == Shape({out_features, in_features}), "Linear '", full_name(),
               "': weight must have shape [", out_features, ", ", in_features,
               "] (update in_features/out_features when replacing tensors)");
  PRUNUS_CHECK(!bias.defined() || bias.shape() == Shape({out_features}), "Linear '", full_name(),
               "': bias has shape ", shape_str(bias.defined() ? bias.shape() : Shape{}), ", expected [",
               out_features, "]");
}

Tensor Linear::forward(const Tensor& x) {
  check_state();
  if (shape_only_active()) {
    PRUNUS_CHECK(x.ndim() == 2 && x.size(1) == in_features, "Linear '", full_name(), "': input ",
                 shape_str(x.shape()), " should be [N, ", in_features, "]");
    Tensor y = Tensor::zeros({x.size(0), out_features}, x.dtype());
    std::vector<Tensor> inputs{x, weight};
    if (bias.defined()) inputs.push_back(bias);
    record_op("linear", y, inputs, nullptr);
    return y;
  }
  return ops::linear(x, weight, bias);
}

void Linear::describe_attributes(ModuleAttributes& a) const {
  check_state();
  a.set_int("in_features", in_features);
  a.set_int("out_features", out_features);
  a.set_bool("bias", bias.defined());
}

PRUNUS_REGISTER_MODULE_TYPE(Linear, [](const ModuleAttributes& a) {
  return std::make_shared<Linear>(a.get_int32("in_features"), a.get_int32("out_features"), a.get_bool("bias"));
});

}  // namespace nn
}  // namespace prunus
