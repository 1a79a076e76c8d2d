#include "prunus/nn/pooling.h"

#include "prunus/nn/description.h"
#include "prunus/ops.h"

namespace prunus {
namespace nn {

WindowPool::WindowPool(int kernel_size_, int stride_, int padding_)
    : kernel_size(kernel_size_), stride(stride_ > 0 ? stride_ : kernel_size_), padding(padding_) {
  PRUNUS_CHECK(kernel_size > 0 && padding >= 0 && 2 * padding <= kernel_size, "pooling: kernel_size ",
               kernel_size, " must be positive and padding ", padding, " in [0, kernel_size/2]");
}

void WindowPool::describe_attributes(ModuleAttributes& a) const {
  a.set_int("kernel_size", kernel_size);
  a.set_int("stride", stride);
  a.set_int("padding", padding);
}

Tensor MaxPool2d::forward(const Tensor& x) { return ops::maxpool2d(x, kernel_size, stride, padding); }
Tensor AvgPool2d::forward(const Tensor& x) { return ops::avgpool2d(x, kernel_size, stride, padding); }
Tensor GlobalAvgPool::forward(const Tensor& x) { return ops::global_avgpool(x); }
Tensor Flatten::forward(const Tensor& x) { return ops::flatten(x); }

PRUNUS_REGISTER_MODULE_TYPE(MaxPool2d, [](const ModuleAttributes& a) {
  return std::make_shared<MaxPool2d>(a.get_int32("kernel_size"), a.get_int32("stride"), a.get_int32("padding"));
});
PRUNUS_REGISTER_MODULE_TYPE(AvgPool2d, [](const ModuleAttributes& a) {
  return std::make_shared<AvgPool2d>(a.get_int32("kernel_size"), a.get_int32("stride"), a.get_int32("padding"));
});
PRUNUS_REGISTER_MODULE_TYPE(GlobalAvgPool, [](const ModuleAttributes&) { return std::make_shared<GlobalAvgPool>(); });
PRUNUS_REGISTER_MODULE_TYPE(Flatten, [](const ModuleAttributes&) { return std::make_shared<Flatten>(); });

}  // namespace nn
}  // namespace prunus
