#include "prunus/nn/sequential.h"

#include "prunus/nn/description.h"

namespace prunus {
namespace nn {

Tensor Sequential::forward(const Tensor& x) {
  Tensor y = x;
  for (const auto& [name, module] : children()) y = (*module)(y);
  return y;
}

Module& Sequential::operator[](size_t index) const {
  PRUNUS_CHECK(index < children().size(), "Sequential '", full_name(), "': index ", index, " out of range (",
               children().size(), " children)");
  return *children()[index].second;
}

PRUNUS_REGISTER_MODULE_TYPE(Sequential, [](const ModuleAttributes&) { return std::make_shared<Sequential>(); });

}  // namespace nn
}  // namespace prunus
