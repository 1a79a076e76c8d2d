// PLACEHOLDER until the CPU-speed work lands: forwards to the reference.
#include "prunus/kernels/conv2d.h"

namespace prunus {
namespace kernels {

void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y) {
  conv2d_forward_reference(s, x, w, bias, y);
}
void conv2d_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx) {
  conv2d_backward_data_reference(s, dy, w, dx);
}
void conv2d_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw) {
  conv2d_backward_weight_reference(s, x, dy, dw);
}

}  // namespace kernels
}  // namespace prunus
