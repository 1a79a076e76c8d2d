// Convolution forward, backward-data and backward-weight on the GPU, in
// numbered versions (kernels.h): v1 naive loops, v2 and v3 implicit GEMMs
// (implicit_gemm.cuh with the problems of conv_problems.cuh).
#include "common.cuh"
#include "conv_problems.cuh"
#include "conv_tiles.cuh"
#include "implicit_gemm.cuh"
#include "prunus/cuda/kernels.h"
#include "prunus/cuda/runtime.h"

namespace prunus {
namespace cuda {
namespace {

// ------------------------------------------------------------------ checks

void check_conv(const char* op, const Conv2dShape& s) {
  PRUNUS_CHECK(s.batch >= 1 && s.in_channels >= 1 && s.in_height >= 1 && s.in_width >= 1 && s.out_channels >= 1 &&
                   s.kernel_h >= 1 && s.kernel_w >= 1 && s.stride >= 1 && s.padding >= 0,
               op, ": invalid shape (batch ", s.batch, ", channels ", s.in_channels, ", ", s.in_height, "x",
               s.in_width, ", filters ", s.out_channels, ", kernel ", s.kernel_h, "x", s.kernel_w, ", stride ",
               s.stride, ", padding ", s.padding, "); sizes and stride must be >= 1 and padding >= 0");
  PRUNUS_CHECK(s.in_height + 2 * s.padding >= s.kernel_h && s.in_width + 2 * s.padding >= s.kernel_w, op,
               ": the ", s.kernel_h, "x", s.kernel_w, " kernel does not fit the ", s.in_height, "x", s.in_width,
               " input with padding ", s.padding);
  check_index_range(op, "x", int64_t(s.batch) * s.in_channels * s.in_height * s.in_width);
  check_index_range(op, "y", int64_t(s.batch) * s.out_channels * s.out_height() * s.out_width());
  check_index_range(op, "w", int64_t(s.out_channels) * s.in_channels * s.kernel_h * s.kernel_w);
  check_index_range(op, "the reduction (batch * output pixels)", int64_t(s.batch) * s.out_height() * s.out_width());
}

void check_version(const char* op, int version) {
  PRUNUS_CHECK(version >= 1 && version <= kConvVersionCount, op, ": conv version ", version,
               " does not exist; expected 1 (naive), 2 (tiled) or 3 (register-tiled)");
}

// ------------------------------------------------------------- v1: naive

struct NaiveConv {
  int batch, channels, height, width, filters, kernel_h, kernel_w, stride, padding, out_h, out_w;
};

NaiveConv naive_conv(const Conv2dShape& s) {
  return {s.batch,    s.in_channels, s.in_height, s.in_width, s.out_channels, s.kernel_h,
          s.kernel_w, s.stride,      s.padding,   s.out_height(), s.out_width()};
}

__global__ void conv2d_forward_naive(NaiveConv s, const float* x, const float* w, const float* bias, float* y) {
  const int total = s.batch * s.filters * s.out_h * s.out_w;
  const int e = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (e < total) {
    const int ow = e % s.out_w, oh = (e / s.out_w) % s.out_h;
    const int f = (e / (s.out_w * s.out_h)) % s.filters, n = e / (s.out_w * s.out_h * s.filters);
    float acc = bias != nullptr ? bias[f] : 0.0f;
    for (int c = 0; c < s.channels; ++c)
      for (int i = 0; i < s.kernel_h; ++i)
        for (int j = 0; j < s.kernel_w; ++j) {
          const int ih = oh * s.stride - s.padding + i, iw = ow * s.stride - s.padding + j;
          if (ih < 0 || ih >= s.height || iw < 0 || iw >= s.width) continue;
          acc += x[((n * s.channels + c) * s.height + ih) * s.width + iw] *
                 w[((f * s.channels + c) * s.kernel_h + i) * s.kernel_w + j];
        }
    y[e] = acc;
  }
}

__global__ void conv2d_backward_data_naive(NaiveConv s, const float* dy, const float* w, float* dx) {
  const int total = s.batch * s.channels * s.height * s.width;
  const int e = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (e < total) {
    const int iw = e % s.width, ih = (e / s.width) % s.height;
    const int c = (e / (s.width * s.height)) % s.channels, n = e / (s.width * s.height * s.channels);
    float acc = 0.0f;
    for (int f = 0; f < s.filters; ++f)
      for (int i = 0; i < s.kernel_h; ++i)
        for (int j = 0; j < s.kernel_w; ++j) {
          const int th = ih + s.padding - i, tw = iw + s.padding - j;  // = oh * stride, ow * stride
          if (th < 0 || tw < 0 || th % s.stride != 0 || tw % s.stride != 0) continue;
          const int oh = th / s.stride, ow = tw / s.stride;
          if (oh >= s.out_h || ow >= s.out_w) continue;
          acc += dy[((n * s.filters + f) * s.out_h + oh) * s.out_w + ow] *
                 w[((f * s.channels + c) * s.kernel_h + i) * s.kernel_w + j];
        }
    dx[e] = acc;
  }
}

__global__ void conv2d_backward_weight_naive(NaiveConv s, const float* x, const float* dy, float* dw) {
  const int total = s.filters * s.channels * s.kernel_h * s.kernel_w;
  const int e = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (e < total) {
    const int j = e % s.kernel_w, i = (e / s.kernel_w) % s.kernel_h;
    const int c = (e / (s.kernel_w * s.kernel_h)) % s.channels, f = e / (s.kernel_w * s.kernel_h * s.channels);
    float acc = 0.0f;
    for (int n = 0; n < s.batch; ++n)
      for (int oh = 0; oh < s.out_h; ++oh)
        for (int ow = 0; ow < s.out_w; ++ow) {
          const int ih = oh * s.stride - s.padding + i, iw = ow * s.stride - s.padding + j;
          if (ih < 0 || ih >= s.height || iw < 0 || iw >= s.width) continue;
          acc += x[((n * s.channels + c) * s.height + ih) * s.width + iw] *
                 dy[((n * s.filters + f) * s.out_h + oh) * s.out_w + ow];
        }
    dw[e] = acc;
  }
}

constexpr int kNaiveThreads = 256;

int naive_blocks(int64_t outputs) {
  // One output per thread (no grid-stride reuse): the naive kernels are slow
  // per output, so more threads in flight is what they need.
  const int64_t blocks = (outputs + kNaiveThreads - 1) / kNaiveThreads;
  return static_cast<int>(blocks < 2147483647 ? blocks : 2147483647);
}

// ------------------------------------------------------- v2, v3: implicit GEMM

template <class Thread>
struct DeviceExecutor {
  Thread& thread;
  template <class Phase>
  __device__ __forceinline__ void each(Phase&& phase) {
    phase(static_cast<int>(threadIdx.x), thread);
  }
  __device__ __forceinline__ void barrier() { __syncthreads(); }
};

template <class Gemm, int kThreads>
__global__ void __launch_bounds__(kThreads)
    implicit_gemm_kernel(const typename Gemm::Problem problem, SplitK split, float* partials) {
  __shared__ typename Gemm::Shared shared;
  typename Gemm::Thread thread;
  DeviceExecutor<typename Gemm::Thread> executor{thread};
  Gemm::run_block(problem, split, blockIdx.x, blockIdx.y, blockIdx.z, partials, shared, executor);
}

template <class Problem>
__global__ void reduce_partials_kernel(const Problem problem, const float* partials, int splits) {
  const int64_t count = int64_t(problem.M) * problem.N;
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < count; e += int64_t(gridDim.x) * blockDim.x)
    reduce_partials_element(problem, partials, splits, e);
}

template <class Tile, class Problem>
void launch_implicit_gemm(const Problem& problem, const char* name) {
  using Gemm = ImplicitGemm<Tile, Problem>;
  const SplitK split = choose_split(problem.M, problem.N, problem.K, Tile::BM, Tile::BN, Tile::BK,
                                    2 * multiprocessor_count(), kMaxPartialFloats);
  float* partials = nullptr;
  if (split.splits > 1)
    partials = scratch_as<float>(ScratchSlot::GemmPartials, size_t(split.splits) * problem.M * problem.N);
  const dim3 grid(ceil_div(problem.M, Tile::BM), ceil_div(problem.N, Tile::BN), split.splits);
  implicit_gemm_kernel<Gemm, Tile::kThreads><<<grid, Tile::kThreads, 0, stream()>>>(problem, split, partials);
  PRUNUS_CHECK_LAUNCH(name);
  if (split.splits > 1) {
    const int64_t count = int64_t(problem.M) * problem.N;
    reduce_partials_kernel<Problem><<<grid_for(count, 256), 256, 0, stream()>>>(problem, partials, split.splits);
    PRUNUS_CHECK_LAUNCH("reduce_partials_kernel");
  }
}

template <class Problem>
void launch_gemm_version(int version, const Problem& problem, const char* name) {
  if (version == kConvTiled) {
    launch_implicit_gemm<ConvTiledTile>(problem, name);
    return;
  }
  with_register_tile(problem.N, [&](auto tile) { launch_implicit_gemm<decltype(tile)>(problem, name); });
}

}  // namespace

const char* conv_version_name(int version) {
  switch (version) {
    case kConvNaive: return "v1 naive";
    case kConvTiled: return "v2 tiled";
    case kConvRegisterTiled: return "v3 register-tiled";
    default: return "unknown";
  }
}

void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y, int version) {
  check_conv("cuda::conv2d_forward", s);
  check_version("cuda::conv2d_forward", version);
  check_not_null("cuda::conv2d_forward", "x", x);
  check_not_null("cuda::conv2d_forward", "w", w);
  check_not_null("cuda::conv2d_forward", "y", y);
  if (version == kConvNaive) {
    const int64_t outputs = int64_t(s.batch) * s.out_channels * s.out_height() * s.out_width();
    conv2d_forward_naive<<<naive_blocks(outputs), kNaiveThreads, 0, stream()>>>(naive_conv(s), x, w, bias, y);
    PRUNUS_CHECK_LAUNCH("conv2d_forward_naive");
    return;
  }
  launch_gemm_version(version, make_forward_problem(s, x, w, bias, y), "conv2d_forward implicit GEMM");
}

void conv2d_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx, int version) {
  check_conv("cuda::conv2d_backward_data", s);
  check_version("cuda::conv2d_backward_data", version);
  check_not_null("cuda::conv2d_backward_data", "dy", dy);
  check_not_null("cuda::conv2d_backward_data", "w", w);
  check_not_null("cuda::conv2d_backward_data", "dx", dx);
  if (version == kConvNaive) {
    const int64_t outputs = int64_t(s.batch) * s.in_channels * s.in_height * s.in_width;
    conv2d_backward_data_naive<<<naive_blocks(outputs), kNaiveThreads, 0, stream()>>>(naive_conv(s), dy, w, dx);
    PRUNUS_CHECK_LAUNCH("conv2d_backward_data_naive");
    return;
  }
  launch_gemm_version(version, make_backward_data_problem(s, dy, w, dx), "conv2d_backward_data implicit GEMM");
}

void conv2d_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw, int version) {
  check_conv("cuda::conv2d_backward_weight", s);
  check_version("cuda::conv2d_backward_weight", version);
  check_not_null("cuda::conv2d_backward_weight", "x", x);
  check_not_null("cuda::conv2d_backward_weight", "dy", dy);
  check_not_null("cuda::conv2d_backward_weight", "dw", dw);
  if (version == kConvNaive) {
    const int64_t outputs = int64_t(s.out_channels) * s.in_channels * s.kernel_h * s.kernel_w;
    conv2d_backward_weight_naive<<<naive_blocks(outputs), kNaiveThreads, 0, stream()>>>(naive_conv(s), x, dy, dw);
    PRUNUS_CHECK_LAUNCH("conv2d_backward_weight_naive");
    return;
  }
  launch_gemm_version(version, make_backward_weight_problem(s, x, dy, dw), "conv2d_backward_weight implicit GEMM");
}

}  // namespace cuda
}  // namespace prunus
