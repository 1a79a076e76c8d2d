#include "prunus/nn/batchnorm.h"

#include "prunus/nn/description.h"
#include "prunus/ops.h"

namespace prunus {
namespace nn {

BatchNormBase::BatchNormBase(int channels_, double momentum_, double eps_)
    : channels(channels_), momentum(momentum_), eps(eps_) {
  PRUNUS_CHECK(channels > 0, "BatchNorm: channels must be positive, got ", channels);
  PRUNUS_CHECK(momentum >= 0 && momentum <= 1 && eps > 0, "BatchNorm(", channels, "): momentum ", momentum,
               " must be in [0, 1] and eps ", eps, " positive");
  weight = Tensor::ones({channels});
  bias = Tensor::zeros({channels});
  running_mean = Tensor::zeros({channels});
  running_var = Tensor::ones({channels});
  register_parameter("weight", &weight);
  register_parameter("bias", &bias);
  register_buffer("running_mean", &running_mean);
  register_buffer("running_var", &running_var);
}

void BatchNormBase::check_state(const char* type) const {
  const Shape expected{channels};
  for (const Tensor* t : {&weight, &bias, &running_mean, &running_var})
    PRUNUS_CHECK(t->defined() && t->shape() == expected, type, " '", full_name(), "': weight, bias, running_mean",
                 " and running_var must all be defined with shape ", shape_str(expected),
                 " (update `channels` when replacing tensors)");
}

void BatchNormBase::describe_attributes(ModuleAttributes& a) const {
  check_state(type_name().c_str());
  a.set_int("channels", channels);
  a.set_double("momentum", momentum);
  a.set_double("eps", eps);
}

Tensor BatchNorm2d::forward(const Tensor& x) {
  check_state("BatchNorm2d");
  return ops::batchnorm2d(x, weight, bias, running_mean, running_var, training(), momentum, eps);
}

Tensor BatchNorm1d::forward(const Tensor& x) {
  check_state("BatchNorm1d");
  return ops::batchnorm1d(x, weight, bias, running_mean, running_var, training(), momentum, eps);
}

PRUNUS_REGISTER_MODULE_TYPE(BatchNorm2d, [](const ModuleAttributes& a) {
  return std::make_shared<BatchNorm2d>(a.get_int32("channels"), a.get_double("momentum"), a.get_double("eps"));
});
PRUNUS_REGISTER_MODULE_TYPE(BatchNorm1d, [](const ModuleAttributes& a) {
  return std::make_shared<BatchNorm1d>(a.get_int32("channels"), a.get_double("momentum"), a.get_double("eps"));
});

}  // namespace nn
}  // namespace prunus
