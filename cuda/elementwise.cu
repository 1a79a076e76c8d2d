// Elementwise kernels and the channel copy of concat (kernels.h): grid-stride
// loops over coalesced, independent elements.
#include "common.cuh"
#include "prunus/cuda/kernels.h"

namespace prunus {
namespace cuda {
namespace {

constexpr int kThreads = 256;

#define PRUNUS_GRID_STRIDE(e, total)                                                        \
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < (total); \
       e += int64_t(gridDim.x) * blockDim.x)

__global__ void relu_forward_kernel(const float* x, float* y, int64_t count) {
  PRUNUS_GRID_STRIDE(e, count) {
    const float v = x[e];
    y[e] = v < 0.0f ? 0.0f : v;  // NaN passes through
  }
}

__global__ void relu_backward_kernel(const float* x, const float* dy, float* dx, int64_t count) {
  PRUNUS_GRID_STRIDE(e, count) { dx[e] = x[e] > 0.0f ? dy[e] : 0.0f; }
}

__global__ void add_kernel(const float* a, const float* b, float* y, int64_t count) {
  PRUNUS_GRID_STRIDE(e, count) { y[e] = a[e] + b[e]; }
}

__global__ void accumulate_kernel(float* dst, const float* src, int64_t count) {
  PRUNUS_GRID_STRIDE(e, count) { dst[e] += src[e]; }
}

__global__ void fill_kernel(float* y, float value, int64_t count) {
  PRUNUS_GRID_STRIDE(e, count) { y[e] = value; }
}

// e runs over batch * block, block = channels * inner values per batch index.
__global__ void copy_channels_kernel(const float* src, int64_t src_stride, float* dst, int64_t dst_stride,
                                     int64_t block, int64_t total) {
  PRUNUS_GRID_STRIDE(e, total) {
    const int64_t n = e / block, r = e % block;
    dst[n * dst_stride + r] = src[n * src_stride + r];
  }
}

#undef PRUNUS_GRID_STRIDE

void check_count(const char* op, int64_t count) {
  PRUNUS_CHECK(count >= 0, op, ": negative element count ", count);
}

}  // namespace

void relu_forward(const float* x, float* y, int64_t count) {
  check_count("cuda::relu_forward", count);
  if (count == 0) return;
  relu_forward_kernel<<<grid_for(count, kThreads), kThreads, 0, stream()>>>(x, y, count);
  PRUNUS_CHECK_LAUNCH("relu_forward_kernel");
}

void relu_backward(const float* x, const float* dy, float* dx, int64_t count) {
  check_count("cuda::relu_backward", count);
  if (count == 0) return;
  relu_backward_kernel<<<grid_for(count, kThreads), kThreads, 0, stream()>>>(x, dy, dx, count);
  PRUNUS_CHECK_LAUNCH("relu_backward_kernel");
}

void add(const float* a, const float* b, float* y, int64_t count) {
  check_count("cuda::add", count);
  if (count == 0) return;
  add_kernel<<<grid_for(count, kThreads), kThreads, 0, stream()>>>(a, b, y, count);
  PRUNUS_CHECK_LAUNCH("add_kernel");
}

void accumulate(float* dst, const float* src, int64_t count) {
  check_count("cuda::accumulate", count);
  if (count == 0) return;
  accumulate_kernel<<<grid_for(count, kThreads), kThreads, 0, stream()>>>(dst, src, count);
  PRUNUS_CHECK_LAUNCH("accumulate_kernel");
}

void fill(float* y, float value, int64_t count) {
  check_count("cuda::fill", count);
  if (count == 0) return;
  fill_kernel<<<grid_for(count, kThreads), kThreads, 0, stream()>>>(y, value, count);
  PRUNUS_CHECK_LAUNCH("fill_kernel");
}

void copy_channels(const float* src, int64_t src_channels, int64_t src_offset, float* dst, int64_t dst_channels,
                   int64_t dst_offset, int64_t batch, int64_t channels, int64_t inner) {
  const char* op = "cuda::copy_channels";
  PRUNUS_CHECK(batch >= 0 && channels >= 0 && inner >= 0 && src_offset >= 0 && dst_offset >= 0, op,
               ": negative size or offset (batch ", batch, ", channels ", channels, ", inner ", inner,
               ", src_offset ", src_offset, ", dst_offset ", dst_offset, ")");
  PRUNUS_CHECK(src_offset + channels <= src_channels, op, ": channels [", src_offset, ", ", src_offset + channels,
               ") are outside the source's ", src_channels, " channels");
  PRUNUS_CHECK(dst_offset + channels <= dst_channels, op, ": channels [", dst_offset, ", ", dst_offset + channels,
               ") are outside the destination's ", dst_channels, " channels");
  const int64_t block = channels * inner, total = batch * block;
  if (total == 0) return;
  copy_channels_kernel<<<grid_for(total, kThreads), kThreads, 0, stream()>>>(
      src + src_offset * inner, src_channels * inner, dst + dst_offset * inner, dst_channels * inner, block, total);
  PRUNUS_CHECK_LAUNCH("copy_channels_kernel");
}

}  // namespace cuda
}  // namespace prunus
