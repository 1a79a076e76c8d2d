// Naive convolution: the definition, written as directly as possible.
#include "prunus/kernels/conv2d.h"

namespace prunus {
namespace kernels {

template <typename T>
void conv2d_forward_reference(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y) {
  const int OH = s.out_height(), OW = s.out_width();
  for (int n = 0; n < s.batch; ++n)
    for (int f = 0; f < s.out_channels; ++f)
      for (int oh = 0; oh < OH; ++oh)
        for (int ow = 0; ow < OW; ++ow) {
          T acc = bias ? bias[f] : T(0);
          for (int c = 0; c < s.in_channels; ++c)
            for (int i = 0; i < s.kernel_h; ++i)
              for (int j = 0; j < s.kernel_w; ++j) {
                const int ih = oh * s.stride - s.padding + i, iw = ow * s.stride - s.padding + j;
                if (ih < 0 || ih >= s.in_height || iw < 0 || iw >= s.in_width) continue;
                acc += x[((int64_t(n) * s.in_channels + c) * s.in_height + ih) * s.in_width + iw] *
                       w[((int64_t(f) * s.in_channels + c) * s.kernel_h + i) * s.kernel_w + j];
              }
          y[((int64_t(n) * s.out_channels + f) * OH + oh) * OW + ow] = acc;
        }
}

template <typename T>
void conv2d_backward_data_reference(const Conv2dShape& s, const T* dy, const T* w, T* dx) {
  const int OH = s.out_height(), OW = s.out_width();
  const int64_t dx_size = int64_t(s.batch) * s.in_channels * s.in_height * s.in_width;
  for (int64_t k = 0; k < dx_size; ++k) dx[k] = T(0);
  for (int n = 0; n < s.batch; ++n)
    for (int f = 0; f < s.out_channels; ++f)
      for (int oh = 0; oh < OH; ++oh)
        for (int ow = 0; ow < OW; ++ow) {
          const T g = dy[((int64_t(n) * s.out_channels + f) * OH + oh) * OW + ow];
          for (int c = 0; c < s.in_channels; ++c)
            for (int i = 0; i < s.kernel_h; ++i)
              for (int j = 0; j < s.kernel_w; ++j) {
                const int ih = oh * s.stride - s.padding + i, iw = ow * s.stride - s.padding + j;
                if (ih < 0 || ih >= s.in_height || iw < 0 || iw >= s.in_width) continue;
                dx[((int64_t(n) * s.in_channels + c) * s.in_height + ih) * s.in_width + iw] +=
                    g * w[((int64_t(f) * s.in_channels + c) * s.kernel_h + i) * s.kernel_w + j];
              }
        }
}

template <typename T>
void conv2d_backward_weight_reference(const Conv2dShape& s, const T* x, const T* dy, T* dw) {
  const int OH = s.out_height(), OW = s.out_width();
  for (int f = 0; f < s.out_channels; ++f)
    for (int c = 0; c < s.in_channels; ++c)
      for (int i = 0; i < s.kernel_h; ++i)
        for (int j = 0; j < s.kernel_w; ++j) {
          T acc = T(0);
          for (int n = 0; n < s.batch; ++n)
            for (int oh = 0; oh < OH; ++oh)
              for (int ow = 0; ow < OW; ++ow) {
                const int ih = oh * s.stride - s.padding + i, iw = ow * s.stride - s.padding + j;
                if (ih < 0 || ih >= s.in_height || iw < 0 || iw >= s.in_width) continue;
                acc += x[((int64_t(n) * s.in_channels + c) * s.in_height + ih) * s.in_width + iw] *
                       dy[((int64_t(n) * s.out_channels + f) * OH + oh) * OW + ow];
              }
          dw[((int64_t(f) * s.in_channels + c) * s.kernel_h + i) * s.kernel_w + j] = acc;
        }
}

#define PRUNUS_INSTANTIATE(T)                                                                     \
  template void conv2d_forward_reference<T>(const Conv2dShape&, const T*, const T*, const T*, T*); \
  template void conv2d_backward_data_reference<T>(const Conv2dShape&, const T*, const T*, T*);    \
  template void conv2d_backward_weight_reference<T>(const Conv2dShape&, const T*, const T*, T*);
PRUNUS_INSTANTIATE(float)
PRUNUS_INSTANTIATE(double)
#undef PRUNUS_INSTANTIATE

}  // namespace kernels
}  // namespace prunus
