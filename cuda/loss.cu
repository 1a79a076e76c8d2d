// Softmax cross-entropy on the GPU (kernels.h): one warp per row, in double
// like the CPU op (the per-lane steps are in loss_steps.cuh), then one block
// adds the row losses in a fixed order.
#include <cmath>

#include "common.cuh"
#include "loss_steps.cuh"
#include "prunus/cuda/kernels.h"
#include "reductions.cuh"

namespace prunus {
namespace cuda {
namespace {

constexpr int kThreads = 256;

__global__ void softmax_cross_entropy_rows_kernel(const float* logits, const int32_t* labels, int N, int K,
                                                  float* probabilities, double* row_losses) {
  const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x & 31;
  if (row >= N) return;  // whole warps leave together
  const float* z = logits + int64_t(row) * K;
  double max = row_max_partial(z, K, lane, 32);
  for (int offset = 16; offset > 0; offset >>= 1) max = larger(max, __shfl_xor_sync(kFullWarp, max, offset));
  const double log_total = log(warp_sum(row_exp_sum_partial(z, K, max, lane, 32)));
  row_write_probabilities(z, K, max, log_total, probabilities + int64_t(row) * K, lane, 32);
  if (lane == 0) row_losses[row] = row_loss(z, K, labels[row], max, log_total);
}

__global__ void mean_loss_kernel(const double* row_losses, int N, float* loss) {
  double sum = 0.0, unused = 0.0;
  for (int row = threadIdx.x; row < N; row += blockDim.x) sum += row_losses[row];
  block_sum_pair(sum, unused);
  if (threadIdx.x == 0) loss[0] = static_cast<float>(sum / double(N));
}

__global__ void cross_entropy_backward_kernel(const float* probabilities, const int32_t* labels, int N, int K,
                                              double scale, float* grad) {
  const int64_t total = int64_t(N) * K;
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total; e += int64_t(gridDim.x) * blockDim.x)
    cross_entropy_backward_element(probabilities, labels, K, scale, grad, e);
}

void check_sizes(const char* op, int N, int K) {
  PRUNUS_CHECK(N >= 1 && K >= 1, op, ": logits [", N, ", ", K, "] are empty; expected at least one row and class");
  check_index_range(op, "the logits", int64_t(N) * K);
}

}  // namespace

void softmax_cross_entropy_forward(const float* logits, const int32_t* labels, int N, int K, float* probabilities,
                                   float* loss) {
  const char* op = "cuda::softmax_cross_entropy_forward";
  check_sizes(op, N, K);
  check_not_null(op, "logits", logits);
  check_not_null(op, "labels", labels);
  check_not_null(op, "probabilities", probabilities);
  check_not_null(op, "loss", loss);
  double* row_losses = scratch_as<double>(ScratchSlot::ReductionPartials, size_t(N));
  const int rows_per_block = kThreads / 32;
  softmax_cross_entropy_rows_kernel<<<(N + rows_per_block - 1) / rows_per_block, kThreads, 0, stream()>>>(
      logits, labels, N, K, probabilities, row_losses);
  PRUNUS_CHECK_LAUNCH("softmax_cross_entropy_rows_kernel");
  mean_loss_kernel<<<1, kThreads, 0, stream()>>>(row_losses, N, loss);
  PRUNUS_CHECK_LAUNCH("mean_loss_kernel");
}

void softmax_cross_entropy_backward(const float* probabilities, const int32_t* labels, int N, int K, double scale,
                                    float* grad) {
  const char* op = "cuda::softmax_cross_entropy_backward";
  check_sizes(op, N, K);
  PRUNUS_CHECK(std::isfinite(scale), op, ": scale is ", scale, "; expected a finite value");
  check_not_null(op, "probabilities", probabilities);
  check_not_null(op, "labels", labels);
  check_not_null(op, "grad", grad);
  const int64_t total = int64_t(N) * K;
  cross_entropy_backward_kernel<<<grid_for(total, kThreads), kThreads, 0, stream()>>>(probabilities, labels, N, K,
                                                                                      scale, grad);
  PRUNUS_CHECK_LAUNCH("cross_entropy_backward_kernel");
}

}  // namespace cuda
}  // namespace prunus
