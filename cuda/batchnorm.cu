// Batch normalization on the GPU (kernels.h), in three steps per pass:
//   1. partial sums: blocks of (chunk, channel) reduce a fixed range of the
//      channel's batch*spatial values (float per thread, double across the
//      block, warp shuffles), one pair of sums per block;
//   2. finalize: one warp per channel adds its chunks in order (double) and
//      computes the statistics and per-channel coefficients;
//   3. apply: an elementwise pass with those coefficients.
// The chunk layout depends only on the shape, so results are deterministic.
// The arithmetic and indexing live in batchnorm_steps.cuh (also run by the
// CPU emulator); this file adds the reductions and the launches.
#include <cmath>

#include "batchnorm_steps.cuh"
#include "common.cuh"
#include "prunus/cuda/kernels.h"
#include "reductions.cuh"

namespace prunus {
namespace cuda {
namespace {

constexpr int kThreads = kBatchNormThreads;

template <int V>
__global__ void forward_partials_kernel(ChannelLayout l, const float* x, double2* partials) {
  const int c = blockIdx.y, chunk = blockIdx.x;
  float sum, squares;
  forward_partial_sums<V>(l, x, c, chunk, threadIdx.x, blockDim.x, sum, squares);
  double a = sum, b = squares;
  block_sum_pair(a, b);
  if (threadIdx.x == 0) partials[c * l.chunks + chunk] = make_double2(a, b);
}

template <int V>
__global__ void backward_partials_kernel(ChannelLayout l, const float* x, const float* dy, const float* mean,
                                         double2* partials) {
  const int c = blockIdx.y, chunk = blockIdx.x;
  float sum_dy, sum_dy_xmu;
  backward_partial_sums<V>(l, x, dy, mean, c, chunk, threadIdx.x, blockDim.x, sum_dy, sum_dy_xmu);
  double a = sum_dy, b = sum_dy_xmu;
  block_sum_pair(a, b);
  if (threadIdx.x == 0) partials[c * l.chunks + chunk] = make_double2(a, b);
}

// One warp per channel: the chunks' sums in order, then lane 0 finalizes.
__device__ __forceinline__ double2 channel_totals(const double2* partials, int chunks, int c, int lane) {
  double a = 0.0, b = 0.0;
  for (int k = lane; k < chunks; k += 32) {
    a += partials[c * chunks + k].x;
    b += partials[c * chunks + k].y;
  }
  return make_double2(warp_sum(a), warp_sum(b));
}

__global__ void forward_finalize_kernel(ChannelLayout l, int64_t count, const double2* partials, ForwardFinalize f) {
  const int c = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x & 31;
  if (c >= l.channels) return;  // whole warps leave together
  const double2 totals = channel_totals(partials, l.chunks, c, lane);
  if (lane == 0) forward_finalize_channel(l, count, totals.x, totals.y, c, f);
}

__global__ void backward_finalize_kernel(ChannelLayout l, int64_t count, const double2* partials,
                                         BackwardFinalize f) {
  const int c = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x & 31;
  if (c >= l.channels) return;
  const double2 totals = channel_totals(partials, l.chunks, c, lane);
  if (lane == 0) backward_finalize_channel(l, count, totals.x, totals.y, c, f);
}

__global__ void eval_scale_kernel(int channels, const float* gamma, const float* running_var, double eps,
                                  float* scale) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c < channels) eval_scale_channel(gamma, running_var, eps, scale, c);
}

template <int V>
__global__ void affine_kernel(ChannelLayout l, int units_total, const float* x, const float* center,
                              const float* scale, const float* offset, float* y) {
  for (int64_t u = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; u < units_total;
       u += int64_t(gridDim.x) * blockDim.x)
    affine_unit<V>(l, static_cast<int>(u), x, center, scale, offset, y);
}

template <int V>
__global__ void backward_apply_kernel(ChannelLayout l, int units_total, const float* x, const float* dy,
                                      const float* mean, const float* coefficients, float* dx) {
  for (int64_t u = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; u < units_total;
       u += int64_t(gridDim.x) * blockDim.x)
    backward_apply_unit<V>(l, static_cast<int>(u), x, dy, mean, coefficients, dx);
}

void check_shape(const char* op, const BatchNormShape& s) {
  PRUNUS_CHECK(s.batch >= 1 && s.channels >= 1 && s.spatial >= 1, op, ": invalid shape [batch ", s.batch,
               ", channels ", s.channels, ", spatial ", s.spatial, "]; every size must be >= 1");
  check_index_range(op, "x", s.numel());
  PRUNUS_CHECK(s.channels <= 65535, op, ": ", s.channels, " channels; the CUDA kernels support at most 65535");
}

int warps_blocks(int64_t channels) { return static_cast<int>((channels + kThreads / 32 - 1) / (kThreads / 32)); }

template <int V>
void launch_affine(const ChannelLayout& l, const BatchNormShape& s, const float* x, const float* center,
                   const float* scale, const float* offset, float* y) {
  const int units_total = static_cast<int>(s.numel() / V);
  affine_kernel<V><<<grid_for(units_total, kThreads), kThreads, 0, stream()>>>(l, units_total, x, center, scale,
                                                                              offset, y);
  PRUNUS_CHECK_LAUNCH("batchnorm affine_kernel");
}

// Steps 1 and 2 of the backward passes, then the apply step.
void backward(const char* op, const BatchNormShape& s, const float* x, const float* dy, const float* gamma,
              const float* mean, const float* inv_std, float* dx, float* dgamma, float* dbeta, bool train) {
  check_shape(op, s);
  for (const void* p : {static_cast<const void*>(x), static_cast<const void*>(dy), static_cast<const void*>(gamma),
                        static_cast<const void*>(mean), static_cast<const void*>(inv_std),
                        static_cast<const void*>(dx), static_cast<const void*>(dgamma),
                        static_cast<const void*>(dbeta)})
    check_not_null(op, "an input or output", p);
  const int V = batchnorm_vector_width(s, {x, dy, dx});
  const ChannelLayout l = channel_layout(s, V);
  double2* partials = scratch_as<double2>(ScratchSlot::ReductionPartials, size_t(l.channels) * l.chunks);
  float* coefficients = scratch_as<float>(ScratchSlot::ChannelCoefficients, size_t(3) * l.channels);
  const dim3 grid(l.chunks, l.channels);
  if (V == 4)
    backward_partials_kernel<4><<<grid, kThreads, 0, stream()>>>(l, x, dy, mean, partials);
  else
    backward_partials_kernel<1><<<grid, kThreads, 0, stream()>>>(l, x, dy, mean, partials);
  PRUNUS_CHECK_LAUNCH("batchnorm backward_partials_kernel");
  const BackwardFinalize f{gamma, inv_std, train, dgamma, dbeta, coefficients};
  backward_finalize_kernel<<<warps_blocks(l.channels), kThreads, 0, stream()>>>(l, s.per_channel(), partials, f);
  PRUNUS_CHECK_LAUNCH("batchnorm backward_finalize_kernel");
  const int units_total = static_cast<int>(s.numel() / V);
  const int blocks = grid_for(units_total, kThreads);
  if (V == 4)
    backward_apply_kernel<4><<<blocks, kThreads, 0, stream()>>>(l, units_total, x, dy, mean, coefficients, dx);
  else
    backward_apply_kernel<1><<<blocks, kThreads, 0, stream()>>>(l, units_total, x, dy, mean, coefficients, dx);
  PRUNUS_CHECK_LAUNCH("batchnorm backward_apply_kernel");
}

}  // namespace

void batchnorm_forward_train(const BatchNormShape& s, const float* x, const float* gamma, const float* beta,
                             double eps, double momentum, float* running_mean, float* running_var, float* y,
                             float* saved_mean, float* saved_inv_std) {
  const char* op = "cuda::batchnorm_forward_train";
  check_shape(op, s);
  PRUNUS_CHECK(eps > 0 && std::isfinite(eps), op, ": eps is ", eps, "; expected a finite value > 0");
  PRUNUS_CHECK(momentum >= 0 && momentum <= 1, op, ": momentum is ", momentum, "; expected a value in [0, 1]");
  PRUNUS_CHECK((running_mean == nullptr) == (running_var == nullptr), op,
               ": running_mean and running_var must both be given or both be null");
  for (const void* p : {static_cast<const void*>(x), static_cast<const void*>(gamma), static_cast<const void*>(beta),
                        static_cast<const void*>(y), static_cast<const void*>(saved_mean),
                        static_cast<const void*>(saved_inv_std)})
    check_not_null(op, "an input or output", p);
  const int V = batchnorm_vector_width(s, {x, y});
  const ChannelLayout l = channel_layout(s, V);
  double2* partials = scratch_as<double2>(ScratchSlot::ReductionPartials, size_t(l.channels) * l.chunks);
  float* scale = scratch_as<float>(ScratchSlot::ChannelCoefficients, size_t(l.channels));
  const dim3 grid(l.chunks, l.channels);
  if (V == 4)
    forward_partials_kernel<4><<<grid, kThreads, 0, stream()>>>(l, x, partials);
  else
    forward_partials_kernel<1><<<grid, kThreads, 0, stream()>>>(l, x, partials);
  PRUNUS_CHECK_LAUNCH("batchnorm forward_partials_kernel");
  const ForwardFinalize f{x, gamma, eps, momentum, running_mean, running_var, saved_mean, saved_inv_std, scale};
  forward_finalize_kernel<<<warps_blocks(l.channels), kThreads, 0, stream()>>>(l, s.per_channel(), partials, f);
  PRUNUS_CHECK_LAUNCH("batchnorm forward_finalize_kernel");
  if (V == 4)
    launch_affine<4>(l, s, x, saved_mean, scale, beta, y);
  else
    launch_affine<1>(l, s, x, saved_mean, scale, beta, y);
}

void batchnorm_forward_eval(const BatchNormShape& s, const float* x, const float* gamma, const float* beta,
                            const float* running_mean, const float* running_var, double eps, float* y) {
  const char* op = "cuda::batchnorm_forward_eval";
  check_shape(op, s);
  PRUNUS_CHECK(eps >= 0 && std::isfinite(eps), op, ": eps is ", eps, "; expected a finite value >= 0");
  for (const void* p : {static_cast<const void*>(x), static_cast<const void*>(gamma), static_cast<const void*>(beta),
                        static_cast<const void*>(running_mean), static_cast<const void*>(running_var),
                        static_cast<const void*>(y)})
    check_not_null(op, "an input or output", p);
  const int V = batchnorm_vector_width(s, {x, y});
  const ChannelLayout l = channel_layout(s, V);
  float* scale = scratch_as<float>(ScratchSlot::ChannelCoefficients, size_t(l.channels));
  eval_scale_kernel<<<(l.channels + kThreads - 1) / kThreads, kThreads, 0, stream()>>>(l.channels, gamma,
                                                                                       running_var, eps, scale);
  PRUNUS_CHECK_LAUNCH("batchnorm eval_scale_kernel");
  if (V == 4)
    launch_affine<4>(l, s, x, running_mean, scale, beta, y);
  else
    launch_affine<1>(l, s, x, running_mean, scale, beta, y);
}

void batchnorm_backward_train(const BatchNormShape& s, const float* x, const float* dy, const float* gamma,
                              const float* mean, const float* inv_std, float* dx, float* dgamma, float* dbeta) {
  backward("cuda::batchnorm_backward_train", s, x, dy, gamma, mean, inv_std, dx, dgamma, dbeta, true);
}

void batchnorm_backward_eval(const BatchNormShape& s, const float* x, const float* dy, const float* gamma,
                             const float* mean, const float* inv_std, float* dx, float* dgamma, float* dbeta) {
  backward("cuda::batchnorm_backward_eval", s, x, dy, gamma, mean, inv_std, dx, dgamma, dbeta, false);
}

}  // namespace cuda
}  // namespace prunus
