// One output (forward) or one input (backward) of the pooling kernels
// (pool.cu), as functions of the flat element index, so that the CPU emulator
// (tests/gpu/test_kernels_emulated.cpp) runs the same code. The backward
// passes gather: each input sums the outputs whose window holds it, in
// ascending output order, which is the order in which the CPU reference
// scatters them, so the float sums are the same and need no atomics.
#pragma once
#include "host_device.cuh"
#include "prunus/kernels/pool.h"

namespace prunus {
namespace cuda {

struct PoolDims {
  int height, width, out_h, out_w, kernel, stride, padding;
  int64_t planes;
  PRUNUS_HD int64_t in_plane() const { return int64_t(height) * width; }
  PRUNUS_HD int64_t out_plane() const { return int64_t(out_h) * out_w; }
};

inline PoolDims pool_dims(const kernels::Pool2dShape& s) {
  return {s.in_height, s.in_width, s.out_height(), s.out_width(), s.kernel, s.stride, s.padding, s.planes()};
}

// Input rows (or columns) [begin, end) of output position o, clipped to the input.
PRUNUS_HD void pool_window(int o, const PoolDims& d, int size, int& begin, int& end) {
  const int start = o * d.stride - d.padding;
  begin = max_of(start, 0);
  end = min_of(start + d.kernel, size);
}

// Output positions [first, last] whose window holds input position i.
PRUNUS_HD void pool_covering(int i, const PoolDims& d, int out_size, int& first, int& last) {
  const int lowest = i + d.padding - d.kernel + 1;  // o * stride >= lowest
  first = lowest <= 0 ? 0 : (lowest + d.stride - 1) / d.stride;
  last = min_of((i + d.padding) / d.stride, out_size - 1);
}

// Output e (flat over planes * OH * OW).
PRUNUS_HD void maxpool_forward_element(const PoolDims& d, int64_t e, const float* x, float* y, int32_t* argmax) {
  const int64_t out_plane = int64_t(d.out_h) * d.out_w;
  const int ow = static_cast<int>(e % d.out_w), oh = static_cast<int>((e / d.out_w) % d.out_h);
  const float* plane = x + (e / out_plane) * d.height * d.width;
  int row_begin, row_end, col_begin, col_end;
  pool_window(oh, d, d.height, row_begin, row_end);
  pool_window(ow, d, d.width, col_begin, col_end);
  int best_index = row_begin * d.width + col_begin;
  float best = plane[best_index];
  for (int ih = row_begin; ih < row_end; ++ih)
    for (int iw = col_begin; iw < col_end; ++iw) {
      const int index = ih * d.width + iw;
      const float v = plane[index];
      // Strictly greater keeps the first maximum; a NaN replaces a number once.
      if (v > best || (v != v && best == best)) {
        best = v;
        best_index = index;
      }
    }
  y[e] = best;
  argmax[e] = best_index;
}

// Input e (flat over planes * H * W).
PRUNUS_HD void maxpool_backward_element(const PoolDims& d, int64_t e, const float* dy, const int32_t* argmax,
                                        float* dx) {
  const int64_t in_plane = int64_t(d.height) * d.width, out_plane = int64_t(d.out_h) * d.out_w;
  const int iw = static_cast<int>(e % d.width), ih = static_cast<int>((e / d.width) % d.height);
  const int64_t plane = e / in_plane;
  const int index = ih * d.width + iw;
  int oh_first, oh_last, ow_first, ow_last;
  pool_covering(ih, d, d.out_h, oh_first, oh_last);
  pool_covering(iw, d, d.out_w, ow_first, ow_last);
  float acc = 0.0f;
  for (int oh = oh_first; oh <= oh_last; ++oh)
    for (int ow = ow_first; ow <= ow_last; ++ow) {
      const int64_t o = plane * out_plane + oh * d.out_w + ow;
      if (argmax[o] == index) acc += dy[o];
    }
  dx[e] = acc;
}

PRUNUS_HD void avgpool_forward_element(const PoolDims& d, int64_t e, const float* x, float* y) {
  const int64_t out_plane = int64_t(d.out_h) * d.out_w;
  const int ow = static_cast<int>(e % d.out_w), oh = static_cast<int>((e / d.out_w) % d.out_h);
  const float* plane = x + (e / out_plane) * d.height * d.width;
  int row_begin, row_end, col_begin, col_end;
  pool_window(oh, d, d.height, row_begin, row_end);
  pool_window(ow, d, d.width, col_begin, col_end);
  double acc = 0.0;  // padded positions count as zeros
  for (int ih = row_begin; ih < row_end; ++ih)
    for (int iw = col_begin; iw < col_end; ++iw) acc += plane[ih * d.width + iw];
  y[e] = static_cast<float>(acc / (double(d.kernel) * d.kernel));
}

PRUNUS_HD void avgpool_backward_element(const PoolDims& d, int64_t e, const float* dy, float* dx) {
  const int64_t in_plane = int64_t(d.height) * d.width, out_plane = int64_t(d.out_h) * d.out_w;
  const float scale = 1.0f / (float(d.kernel) * float(d.kernel));
  const int iw = static_cast<int>(e % d.width), ih = static_cast<int>((e / d.width) % d.height);
  const int64_t plane = e / in_plane;
  int oh_first, oh_last, ow_first, ow_last;
  pool_covering(ih, d, d.out_h, oh_first, oh_last);
  pool_covering(iw, d, d.out_w, ow_first, ow_last);
  float acc = 0.0f;
  for (int oh = oh_first; oh <= oh_last; ++oh)
    for (int ow = ow_first; ow <= ow_last; ++ow) acc += dy[plane * out_plane + oh * d.out_w + ow] * scale;
  dx[e] = acc;
}

// Lane `lane` of `lanes` of plane p's sum (the kernel adds the lanes up).
PRUNUS_HD double global_avgpool_lane_sum(int64_t plane_size, const float* x, int64_t p, int lane, int lanes) {
  const float* values = x + p * plane_size;
  double acc = 0.0;
  for (int64_t i = lane; i < plane_size; i += lanes) acc += values[i];
  return acc;
}

PRUNUS_HD void global_avgpool_backward_element(int64_t plane_size, int64_t e, const float* dy, float* dx) {
  dx[e] = dy[e / plane_size] / static_cast<float>(plane_size);
}

}  // namespace cuda
}  // namespace prunus
