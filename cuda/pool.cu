// Pooling on the GPU (kernels.h): one thread per output (forward) or per
// input (backward, a deterministic gather); the per-element code is in
// pool_steps.cuh, which the CPU emulator runs too.
#include "common.cuh"
#include "pool_steps.cuh"
#include "prunus/cuda/kernels.h"
#include "reductions.cuh"

namespace prunus {
namespace cuda {
namespace {

constexpr int kThreads = 256;

#define PRUNUS_GRID_STRIDE(e, total) \
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < (total); e += int64_t(gridDim.x) * blockDim.x)

__global__ void maxpool_forward_kernel(PoolDims d, const float* x, float* y, int32_t* argmax) {
  PRUNUS_GRID_STRIDE(e, d.planes * d.out_plane()) maxpool_forward_element(d, e, x, y, argmax);
}

__global__ void maxpool_backward_kernel(PoolDims d, const float* dy, const int32_t* argmax, float* dx) {
  PRUNUS_GRID_STRIDE(e, d.planes * d.in_plane()) maxpool_backward_element(d, e, dy, argmax, dx);
}

__global__ void avgpool_forward_kernel(PoolDims d, const float* x, float* y) {
  PRUNUS_GRID_STRIDE(e, d.planes * d.out_plane()) avgpool_forward_element(d, e, x, y);
}

__global__ void avgpool_backward_kernel(PoolDims d, const float* dy, float* dx) {
  PRUNUS_GRID_STRIDE(e, d.planes * d.in_plane()) avgpool_backward_element(d, e, dy, dx);
}

// One warp per plane.
__global__ void global_avgpool_forward_kernel(int64_t planes, int64_t plane_size, const float* x, float* y) {
  const int64_t plane = blockIdx.x * int64_t(blockDim.x / 32) + threadIdx.x / 32;
  const int lane = threadIdx.x & 31;
  if (plane >= planes) return;  // whole warps leave together
  const double sum = warp_sum(global_avgpool_lane_sum(plane_size, x, plane, lane, 32));
  if (lane == 0) y[plane] = static_cast<float>(sum / double(plane_size));
}

__global__ void global_avgpool_backward_kernel(int64_t planes, int64_t plane_size, const float* dy, float* dx) {
  PRUNUS_GRID_STRIDE(e, planes * plane_size) global_avgpool_backward_element(plane_size, e, dy, dx);
}

#undef PRUNUS_GRID_STRIDE

void check_pool(const char* op, const Pool2dShape& s, bool max_pool) {
  PRUNUS_CHECK(s.batch >= 1 && s.channels >= 1 && s.in_height >= 1 && s.in_width >= 1 && s.kernel >= 1 &&
                   s.stride >= 1 && s.padding >= 0,
               op, ": invalid shape (batch ", s.batch, ", channels ", s.channels, ", ", s.in_height, "x",
               s.in_width, ", kernel ", s.kernel, ", stride ", s.stride, ", padding ", s.padding,
               "); sizes, kernel and stride must be >= 1 and padding >= 0");
  PRUNUS_CHECK(s.out_height() >= 1 && s.out_width() >= 1, op, ": a ", s.kernel, "x", s.kernel, " window with padding ",
               s.padding, " does not fit the ", s.in_height, "x", s.in_width, " input");
  PRUNUS_CHECK(!max_pool || s.padding <= s.kernel / 2, op, ": padding ", s.padding, " is more than half the kernel ",
               s.kernel, "; a window could then hold only padding");
  check_index_range(op, "x", s.planes() * s.in_height * s.in_width);
}

}  // namespace

void maxpool2d_forward(const Pool2dShape& s, const float* x, float* y, int32_t* argmax) {
  check_pool("cuda::maxpool2d_forward", s, true);
  const int64_t total = s.planes() * s.out_height() * s.out_width();
  maxpool_forward_kernel<<<grid_for(total, kThreads), kThreads, 0, stream()>>>(pool_dims(s), x, y, argmax);
  PRUNUS_CHECK_LAUNCH("maxpool_forward_kernel");
}

void maxpool2d_backward(const Pool2dShape& s, const float* dy, const int32_t* argmax, float* dx) {
  check_pool("cuda::maxpool2d_backward", s, true);
  const int64_t total = s.planes() * s.in_height * s.in_width;
  maxpool_backward_kernel<<<grid_for(total, kThreads), kThreads, 0, stream()>>>(pool_dims(s), dy, argmax, dx);
  PRUNUS_CHECK_LAUNCH("maxpool_backward_kernel");
}

void avgpool2d_forward(const Pool2dShape& s, const float* x, float* y) {
  check_pool("cuda::avgpool2d_forward", s, false);
  const int64_t total = s.planes() * s.out_height() * s.out_width();
  avgpool_forward_kernel<<<grid_for(total, kThreads), kThreads, 0, stream()>>>(pool_dims(s), x, y);
  PRUNUS_CHECK_LAUNCH("avgpool_forward_kernel");
}

void avgpool2d_backward(const Pool2dShape& s, const float* dy, float* dx) {
  check_pool("cuda::avgpool2d_backward", s, false);
  const int64_t total = s.planes() * s.in_height * s.in_width;
  avgpool_backward_kernel<<<grid_for(total, kThreads), kThreads, 0, stream()>>>(pool_dims(s), dy, dx);
  PRUNUS_CHECK_LAUNCH("avgpool_backward_kernel");
}

void global_avgpool_forward(int64_t planes, int64_t plane_size, const float* x, float* y) {
  PRUNUS_CHECK(planes >= 1 && plane_size >= 1, "cuda::global_avgpool_forward: ", planes, " planes of ", plane_size,
               " values; both must be >= 1");
  check_index_range("cuda::global_avgpool_forward", "x", planes * plane_size);
  const int64_t warps_per_block = kThreads / 32;
  const int blocks = static_cast<int>((planes + warps_per_block - 1) / warps_per_block);
  global_avgpool_forward_kernel<<<blocks, kThreads, 0, stream()>>>(planes, plane_size, x, y);
  PRUNUS_CHECK_LAUNCH("global_avgpool_forward_kernel");
}

void global_avgpool_backward(int64_t planes, int64_t plane_size, const float* dy, float* dx) {
  PRUNUS_CHECK(planes >= 1 && plane_size >= 1, "cuda::global_avgpool_backward: ", planes, " planes of ", plane_size,
               " values; both must be >= 1");
  check_index_range("cuda::global_avgpool_backward", "dx", planes * plane_size);
  global_avgpool_backward_kernel<<<grid_for(planes * plane_size, kThreads), kThreads, 0, stream()>>>(
      planes, plane_size, dy, dx);
  PRUNUS_CHECK_LAUNCH("global_avgpool_backward_kernel");
}

}  // namespace cuda
}  // namespace prunus
