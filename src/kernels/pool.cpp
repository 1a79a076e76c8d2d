// Pooling kernels. Each (n, c) plane is computed by one plain function; the
// reference runs the planes in order, the float32 versions hand them to the
// OpenMP threads. Sums are accumulated in double.
#include "prunus/kernels/pool.h"

#include <algorithm>

namespace prunus {
namespace kernels {
namespace {

// A window's first and one-past-last input row (or column), clipped to the input.
struct WindowRange {
  int begin, end;
};
inline WindowRange window_range(int out_index, int stride, int padding, int kernel, int in_size) {
  const int start = out_index * stride - padding;
  return {std::max(start, 0), std::min(start + kernel, in_size)};
}

template <typename T>
void maxpool_plane_forward(const Pool2dShape& s, const T* x, T* y, int32_t* argmax) {
  const int OH = s.out_height(), OW = s.out_width();
  for (int oh = 0; oh < OH; ++oh) {
    const WindowRange rows = window_range(oh, s.stride, s.padding, s.kernel, s.in_height);
    for (int ow = 0; ow < OW; ++ow) {
      const WindowRange cols = window_range(ow, s.stride, s.padding, s.kernel, s.in_width);
      int best_index = rows.begin * s.in_width + cols.begin;
      T best = x[best_index];
      for (int ih = rows.begin; ih < rows.end; ++ih)
        for (int iw = cols.begin; iw < cols.end; ++iw) {
          const int index = ih * s.in_width + iw;
          const T v = x[index];
          // Strictly greater keeps the first maximum; a NaN replaces a number once.
          if (v > best || (v != v && best == best)) {
            best = v;
            best_index = index;
          }
        }
      y[oh * OW + ow] = best;
      argmax[oh * OW + ow] = best_index;
    }
  }
}

template <typename T>
void maxpool_plane_backward(const Pool2dShape& s, const T* dy, const int32_t* argmax, T* dx) {
  const int out_size = s.out_height() * s.out_width();
  std::fill(dx, dx + int64_t(s.in_height) * s.in_width, T(0));
  for (int o = 0; o < out_size; ++o) dx[argmax[o]] += dy[o];
}

template <typename T>
void avgpool_plane_forward(const Pool2dShape& s, const T* x, T* y) {
  const int OH = s.out_height(), OW = s.out_width();
  const double divisor = double(s.kernel) * s.kernel;
  for (int oh = 0; oh < OH; ++oh) {
    const WindowRange rows = window_range(oh, s.stride, s.padding, s.kernel, s.in_height);
    for (int ow = 0; ow < OW; ++ow) {
      const WindowRange cols = window_range(ow, s.stride, s.padding, s.kernel, s.in_width);
      double acc = 0;
      for (int ih = rows.begin; ih < rows.end; ++ih)
        for (int iw = cols.begin; iw < cols.end; ++iw) acc += x[ih * s.in_width + iw];
      y[oh * OW + ow] = static_cast<T>(acc / divisor);
    }
  }
}

template <typename T>
void avgpool_plane_backward(const Pool2dShape& s, const T* dy, T* dx) {
  const int OH = s.out_height(), OW = s.out_width();
  const T scale = T(1) / (T(s.kernel) * T(s.kernel));
  std::fill(dx, dx + int64_t(s.in_height) * s.in_width, T(0));
  for (int oh = 0; oh < OH; ++oh) {
    const WindowRange rows = window_range(oh, s.stride, s.padding, s.kernel, s.in_height);
    for (int ow = 0; ow < OW; ++ow) {
      const WindowRange cols = window_range(ow, s.stride, s.padding, s.kernel, s.in_width);
      const T share = dy[oh * OW + ow] * scale;
      for (int ih = rows.begin; ih < rows.end; ++ih)
        for (int iw = cols.begin; iw < cols.end; ++iw) dx[ih * s.in_width + iw] += share;
    }
  }
}

template <typename T>
T plane_mean(int64_t plane_size, const T* x) {
  double acc = 0;
  for (int64_t i = 0; i < plane_size; ++i) acc += x[i];
  return static_cast<T>(acc / double(plane_size));
}

template <typename T>
void plane_spread(int64_t plane_size, T dy, T* dx) {
  const T share = dy / T(plane_size);
  for (int64_t i = 0; i < plane_size; ++i) dx[i] = share;
}

inline int64_t in_plane(const Pool2dShape& s) { return int64_t(s.in_height) * s.in_width; }
inline int64_t out_plane(const Pool2dShape& s) { return int64_t(s.out_height()) * s.out_width(); }

}  // namespace

template <typename T>
void maxpool2d_forward_reference(const Pool2dShape& s, const T* x, T* y, int32_t* argmax) {
  for (int64_t p = 0; p < s.planes(); ++p)
    maxpool_plane_forward(s, x + p * in_plane(s), y + p * out_plane(s), argmax + p * out_plane(s));
}

template <typename T>
void maxpool2d_backward_reference(const Pool2dShape& s, const T* dy, const int32_t* argmax, T* dx) {
  for (int64_t p = 0; p < s.planes(); ++p)
    maxpool_plane_backward(s, dy + p * out_plane(s), argmax + p * out_plane(s), dx + p * in_plane(s));
}

template <typename T>
void avgpool2d_forward_reference(const Pool2dShape& s, const T* x, T* y) {
  for (int64_t p = 0; p < s.planes(); ++p) avgpool_plane_forward(s, x + p * in_plane(s), y + p * out_plane(s));
}

template <typename T>
void avgpool2d_backward_reference(const Pool2dShape& s, const T* dy, T* dx) {
  for (int64_t p = 0; p < s.planes(); ++p)
    avgpool_plane_backward(s, dy + p * out_plane(s), dx + p * in_plane(s));
}

template <typename T>
void global_avgpool_forward_reference(int64_t planes, int64_t plane_size, const T* x, T* y) {
  for (int64_t p = 0; p < planes; ++p) y[p] = plane_mean(plane_size, x + p * plane_size);
}

template <typename T>
void global_avgpool_backward_reference(int64_t planes, int64_t plane_size, const T* dy, T* dx) {
  for (int64_t p = 0; p < planes; ++p) plane_spread(plane_size, dy[p], dx + p * plane_size);
}

#define PRUNUS_INSTANTIATE(T)                                                                          \
  template void maxpool2d_forward_reference<T>(const Pool2dShape&, const T*, T*, int32_t*);           \
  template void maxpool2d_backward_reference<T>(const Pool2dShape&, const T*, const int32_t*, T*);    \
  template void avgpool2d_forward_reference<T>(const Pool2dShape&, const T*, T*);                     \
  template void avgpool2d_backward_reference<T>(const Pool2dShape&, const T*, T*);                    \
  template void global_avgpool_forward_reference<T>(int64_t, int64_t, const T*, T*);                  \
  template void global_avgpool_backward_reference<T>(int64_t, int64_t, const T*, T*);
PRUNUS_INSTANTIATE(float)
PRUNUS_INSTANTIATE(double)
#undef PRUNUS_INSTANTIATE

void maxpool2d_forward(const Pool2dShape& s, const float* x, float* y, int32_t* argmax) {
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < s.planes(); ++p)
    maxpool_plane_forward(s, x + p * in_plane(s), y + p * out_plane(s), argmax + p * out_plane(s));
}

void maxpool2d_backward(const Pool2dShape& s, const float* dy, const int32_t* argmax, float* dx) {
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < s.planes(); ++p)
    maxpool_plane_backward(s, dy + p * out_plane(s), argmax + p * out_plane(s), dx + p * in_plane(s));
}

void avgpool2d_forward(const Pool2dShape& s, const float* x, float* y) {
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < s.planes(); ++p) avgpool_plane_forward(s, x + p * in_plane(s), y + p * out_plane(s));
}

void avgpool2d_backward(const Pool2dShape& s, const float* dy, float* dx) {
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < s.planes(); ++p)
    avgpool_plane_backward(s, dy + p * out_plane(s), dx + p * in_plane(s));
}

void global_avgpool_forward(int64_t planes, int64_t plane_size, const float* x, float* y) {
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < planes; ++p) y[p] = plane_mean(plane_size, x + p * plane_size);
}

void global_avgpool_backward(int64_t planes, int64_t plane_size, const float* dy, float* dx) {
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < planes; ++p) plane_spread(plane_size, dy[p], dx + p * plane_size);
}

}  // namespace kernels
}  // namespace prunus
