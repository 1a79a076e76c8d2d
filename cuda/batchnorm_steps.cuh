// The arithmetic and indexing of the batch-norm kernels (batchnorm.cu), as
// functions of explicit thread and block indices, so that the CPU emulator
// (tests/gpu/test_kernels_emulated.cpp) runs the same code; the kernels add
// only the warp/block reductions around them. Host and device code.
//
// A channel's batch*spatial values are visited in units of V floats (V = 4
// when every (n, c) plane is whole, aligned float4s), split into `chunks`
// equal ranges, one block each; statistics are sums of values shifted by the
// channel's first element, which keeps the variance accurate when |mean| >> std.
#pragma once
#include <cmath>
#include <initializer_list>

#include "fast_divmod.cuh"
#include "host_device.cuh"
#include "prunus/kernels/batchnorm.h"

namespace prunus {
namespace cuda {

constexpr int kBatchNormThreads = 256;
constexpr int kBatchNormValuesPerBlock = kBatchNormThreads * 16;  // about 16 values per thread
constexpr int kBatchNormMaxChunks = 1024;

struct ChannelLayout {
  int channels;
  int spatial;          // floats per (n, c) plane
  int units;            // units per channel: batch * spatial / V
  int units_per_chunk;
  int chunks;
  FastDivmod units_per_plane;  // spatial / V
  FastDivmod channel_count;    // channels
};

inline ChannelLayout channel_layout(const kernels::BatchNormShape& s, int vector_width) {
  ChannelLayout l;
  l.channels = static_cast<int>(s.channels);
  l.spatial = static_cast<int>(s.spatial);
  l.units = static_cast<int>(s.per_channel() / vector_width);
  const int64_t wanted = (s.per_channel() + kBatchNormValuesPerBlock - 1) / kBatchNormValuesPerBlock;
  l.chunks = static_cast<int>(wanted < 1 ? 1 : (wanted > kBatchNormMaxChunks ? kBatchNormMaxChunks : wanted));
  l.units_per_chunk = (l.units + l.chunks - 1) / l.chunks;
  l.chunks = (l.units + l.units_per_chunk - 1) / l.units_per_chunk;  // no empty chunk
  l.units_per_plane = FastDivmod(static_cast<int>(s.spatial / vector_width));
  l.channel_count = FastDivmod(static_cast<int>(s.channels));
  return l;
}

// Float4 when every plane is whole float4s and every array is 16-byte aligned.
inline int batchnorm_vector_width(const kernels::BatchNormShape& s, std::initializer_list<const void*> arrays) {
  if (s.spatial % 4 != 0) return 1;
  for (const void* p : arrays)
    if (reinterpret_cast<uintptr_t>(p) % 16 != 0) return 1;
  return 4;
}

template <int V>
struct Floats {
  float v[V];
  PRUNUS_HD static Floats load(const float* p) {
    Floats out;
    if constexpr (V == 4) {
      const Float4 q = load_float4(p);
      out.v[0] = q.x, out.v[1] = q.y, out.v[2] = q.z, out.v[3] = q.w;
    } else {
      out.v[0] = *p;
    }
    return out;
  }
  PRUNUS_HD void store(float* p) const {
    if constexpr (V == 4)
      store_float4(p, {v[0], v[1], v[2], v[3]});
    else
      *p = v[0];
  }
};

// Offset of unit u of channel c.
template <int V>
PRUNUS_HD int channel_unit_offset(const ChannelLayout& l, int c, int u) {
  int n, unit_in_plane;
  l.units_per_plane.divmod(u, n, unit_in_plane);
  return (n * l.channels + c) * l.spatial + unit_in_plane * V;
}

PRUNUS_HD int64_t chunk_end(const ChannelLayout& l, int chunk) {
  return min_of<int64_t>(l.units, int64_t(chunk + 1) * l.units_per_chunk);
}

// Thread tid (of `threads`) of block (chunk, c): sums of (x - shift) and (x - shift)^2.
template <int V>
PRUNUS_HD void forward_partial_sums(const ChannelLayout& l, const float* x, int c, int chunk, int tid, int threads,
                                   float& sum, float& squares) {
  const float shift = x[c * l.spatial];  // x[0, c, 0]
  sum = 0.0f;
  squares = 0.0f;
  const int64_t end = chunk_end(l, chunk);
  for (int64_t u = int64_t(chunk) * l.units_per_chunk + tid; u < end; u += threads) {
    const Floats<V> value = Floats<V>::load(x + channel_unit_offset<V>(l, c, static_cast<int>(u)));
    PRUNUS_UNROLL
    for (int k = 0; k < V; ++k) {
      const float d = value.v[k] - shift;
      sum += d;
      squares += d * d;
    }
  }
}

// Thread tid of block (chunk, c): sums of dy and dy * (x - mean).
template <int V>
PRUNUS_HD void backward_partial_sums(const ChannelLayout& l, const float* x, const float* dy, const float* mean, int c,
                                    int chunk, int tid, int threads, float& sum_dy, float& sum_dy_xmu) {
  const float center = mean[c];
  sum_dy = 0.0f;
  sum_dy_xmu = 0.0f;
  const int64_t end = chunk_end(l, chunk);
  for (int64_t u = int64_t(chunk) * l.units_per_chunk + tid; u < end; u += threads) {
    const int offset = channel_unit_offset<V>(l, c, static_cast<int>(u));
    const Floats<V> xv = Floats<V>::load(x + offset), gv = Floats<V>::load(dy + offset);
    PRUNUS_UNROLL
    for (int k = 0; k < V; ++k) {
      sum_dy += gv.v[k];
      sum_dy_xmu += gv.v[k] * (xv.v[k] - center);
    }
  }
}

struct ForwardFinalize {
  const float* x;
  const float* gamma;
  double eps, momentum;
  float* running_mean;  // may be null
  float* running_var;   // may be null
  float* saved_mean;
  float* saved_inv_std;
  float* scale;  // gamma * inv_std, for the apply step
};

// Channel c's statistics from its totals (sum, squares) of shifted values.
PRUNUS_HD void forward_finalize_channel(const ChannelLayout& l, int64_t count, double sum, double squares, int c,
                                        const ForwardFinalize& f) {
  const double n = double(count);
  const double shifted_mean = sum / n;
  const double mean = double(f.x[c * l.spatial]) + shifted_mean;
  double var = squares / n - shifted_mean * shifted_mean;
  if (var < 0.0) var = 0.0;
  const double inv_std = 1.0 / sqrt(var + f.eps);
  f.saved_mean[c] = float(mean);
  f.saved_inv_std[c] = float(inv_std);
  f.scale[c] = float(double(f.gamma[c]) * inv_std);
  if (f.running_mean != nullptr) f.running_mean[c] = float((1.0 - f.momentum) * f.running_mean[c] + f.momentum * mean);
  if (f.running_var != nullptr) {
    const double unbiased = count > 1 ? var * n / (n - 1.0) : var;
    f.running_var[c] = float((1.0 - f.momentum) * f.running_var[c] + f.momentum * unbiased);
  }
}

PRUNUS_HD void eval_scale_channel(const float* gamma, const float* running_var, double eps, float* scale, int c) {
  scale[c] = float(double(gamma[c]) / sqrt(double(running_var[c]) + eps));
}

struct BackwardFinalize {
  const float* gamma;
  const float* inv_std;
  bool train;  // the batch statistics depend on x: adds the k2, k3 terms
  float* dgamma;
  float* dbeta;
  float* coefficients;  // [3][channels]: dx = k1 * dy + k2 * (x - mean) + k3
};

// dx = gamma * inv_std * (dy - mean(dy) - xhat * mean(dy * xhat)) = k1 dy + k2 (x - mean) + k3.
PRUNUS_HD void backward_finalize_channel(const ChannelLayout& l, int64_t count, double sum_dy, double sum_dy_xmu,
                                         int c, const BackwardFinalize& f) {
  const double n = double(count), inv_std = f.inv_std[c], gamma = f.gamma[c];
  const double sum_dy_xhat = sum_dy_xmu * inv_std;
  f.dbeta[c] = float(sum_dy);
  f.dgamma[c] = float(sum_dy_xhat);
  const double k1 = gamma * inv_std;
  f.coefficients[c] = float(k1);
  f.coefficients[l.channels + c] = f.train ? float(-k1 * inv_std * sum_dy_xhat / n) : 0.0f;
  f.coefficients[2 * l.channels + c] = f.train ? float(-k1 * sum_dy / n) : 0.0f;
}

// The channel of flat unit u (u * V is the element index).
PRUNUS_HD int unit_channel(const ChannelLayout& l, int u) {
  int plane, unit_in_plane, n, c;
  l.units_per_plane.divmod(u, plane, unit_in_plane);
  l.channel_count.divmod(plane, n, c);
  return c;
}

// y = (x - center[c]) * scale[c] + offset[c] on unit u.
template <int V>
PRUNUS_HD void affine_unit(const ChannelLayout& l, int u, const float* x, const float* center, const float* scale,
                           const float* offset, float* y) {
  const int c = unit_channel(l, u);
  Floats<V> value = Floats<V>::load(x + u * V);
  PRUNUS_UNROLL
  for (int k = 0; k < V; ++k) value.v[k] = (value.v[k] - center[c]) * scale[c] + offset[c];
  value.store(y + u * V);
}

// dx = k1[c] * dy + k2[c] * (x - mean[c]) + k3[c] on unit u.
template <int V>
PRUNUS_HD void backward_apply_unit(const ChannelLayout& l, int u, const float* x, const float* dy, const float* mean,
                                   const float* coefficients, float* dx) {
  const int c = unit_channel(l, u);
  const float k1 = coefficients[c], k2 = coefficients[l.channels + c], k3 = coefficients[2 * l.channels + c];
  const float center = mean[c];
  const Floats<V> xv = Floats<V>::load(x + u * V), gv = Floats<V>::load(dy + u * V);
  Floats<V> out;
  PRUNUS_UNROLL
  for (int k = 0; k < V; ++k) out.v[k] = k1 * gv.v[k] + k2 * (xv.v[k] - center) + k3;
  out.store(dx + u * V);
}

}  // namespace cuda
}  // namespace prunus
