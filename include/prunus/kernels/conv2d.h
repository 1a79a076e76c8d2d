// Convolution kernels on raw NCHW arrays (groups = 1). Every output array is
// overwritten, never accumulated: autograd adds gradients itself.
//   reference: naive loops, any scalar type, obviously correct; the tests
//              compare everything else against these.
//   fast:      float32, multithreaded, vectorized (src/kernels/conv2d_fast.cpp).
#pragma once
#include <cstdint>

namespace prunus {
namespace kernels {

struct Conv2dShape {
  int batch = 1, in_channels = 1, in_height = 1, in_width = 1;
  int out_channels = 1, kernel_h = 1, kernel_w = 1;
  int stride = 1, padding = 0;
  int out_height() const { return (in_height + 2 * padding - kernel_h) / stride + 1; }
  int out_width() const { return (in_width + 2 * padding - kernel_w) / stride + 1; }
  // Multiply-accumulates of the forward pass.
  int64_t macs() const {
    return int64_t(batch) * out_channels * out_height() * out_width() * in_channels * kernel_h * kernel_w;
  }
};

// y[N,F,OH,OW] = conv(x[N,C,H,W], w[F,C,KH,KW]) + bias[F] (bias may be null).
template <typename T>
void conv2d_forward_reference(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y);
// dx[N,C,H,W] from dy[N,F,OH,OW] and w.
template <typename T>
void conv2d_backward_data_reference(const Conv2dShape& s, const T* dy, const T* w, T* dx);
// dw[F,C,KH,KW] from x and dy.
template <typename T>
void conv2d_backward_weight_reference(const Conv2dShape& s, const T* x, const T* dy, T* dw);

void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y);
void conv2d_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx);
void conv2d_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw);

}  // namespace kernels
}  // namespace prunus
