// Pooling kernels on raw NCHW arrays (square windows, symmetric padding,
// floor output size). Every output array is overwritten, never accumulated.
//   reference: plain loops, any scalar type; the tests check against them.
//   float32:   the same per-plane loops spread over the OpenMP threads (each
//              (n, c) plane is independent, so results do not depend on the
//              thread count).
#pragma once
#include <cstdint>

namespace prunus {
namespace kernels {

struct Pool2dShape {
  int batch = 1, channels = 1, in_height = 1, in_width = 1;
  int kernel = 1, stride = 1, padding = 0;
  int out_height() const { return (in_height + 2 * padding - kernel) / stride + 1; }
  int out_width() const { return (in_width + 2 * padding - kernel) / stride + 1; }
  int64_t planes() const { return int64_t(batch) * channels; }
};

// Max pooling. Padded positions never win. argmax[N,C,OH,OW] receives, for
// each output, the index ih * in_width + iw of its input inside its plane:
// the first maximum in row-major window order on ties; a NaN wins over numbers.
// Needs padding <= kernel / 2 so that every window sees a real input.
template <typename T>
void maxpool2d_forward_reference(const Pool2dShape& s, const T* x, T* y, int32_t* argmax);
// dx[N,C,H,W] = each dy routed to its argmax (sums where windows overlap).
template <typename T>
void maxpool2d_backward_reference(const Pool2dShape& s, const T* dy, const int32_t* argmax, T* dx);

// Average pooling; padded positions count as zeros (divisor kernel * kernel).
template <typename T>
void avgpool2d_forward_reference(const Pool2dShape& s, const T* x, T* y);
template <typename T>
void avgpool2d_backward_reference(const Pool2dShape& s, const T* dy, T* dx);

// Mean of each of `planes` contiguous planes of plane_size values:
// x[planes, plane_size] -> y[planes]; backward spreads dy / plane_size.
template <typename T>
void global_avgpool_forward_reference(int64_t planes, int64_t plane_size, const T* x, T* y);
template <typename T>
void global_avgpool_backward_reference(int64_t planes, int64_t plane_size, const T* dy, T* dx);

void maxpool2d_forward(const Pool2dShape& s, const float* x, float* y, int32_t* argmax);
void maxpool2d_backward(const Pool2dShape& s, const float* dy, const int32_t* argmax, float* dx);
void avgpool2d_forward(const Pool2dShape& s, const float* x, float* y);
void avgpool2d_backward(const Pool2dShape& s, const float* dy, float* dx);
void global_avgpool_forward(int64_t planes, int64_t plane_size, const float* x, float* y);
void global_avgpool_backward(int64_t planes, int64_t plane_size, const float* dy, float* dx);

}  // namespace kernels
}  // namespace prunus
