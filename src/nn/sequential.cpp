#include "prunus/nn/sequential.h"

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

}  // namespace nn
}  // namespace prunus
