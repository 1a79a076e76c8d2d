// Linear layers through cuBLAS (kernels.h). cuBLAS is column-major; a
// row-major [rows, cols] array is the column-major [cols, rows] matrix, its
// transpose, so each row-major product below is computed as its transpose:
//   y = x w^T      (y [N,out])  ->  y^T = w x^T:      gemm(T, N, out, N, in)
//   dx = dy w      (dx [N,in])  ->  dx^T = w^T dy^T:  gemm(N, N, in, N, out)
//   dw = dy^T x    (dw [out,in]) -> dw^T = x^T dy:    gemm(N, T, in, out, N)
#include "common.cuh"
#include "prunus/cuda/kernels.h"

namespace prunus {
namespace cuda {
namespace {

constexpr int kThreads = 256;

__global__ void add_bias_rows_kernel(float* y, const float* bias, int rows, int cols) {
  const int64_t total = int64_t(rows) * cols;
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total; e += int64_t(gridDim.x) * blockDim.x)
    y[e] += bias[e % cols];
}

// One thread per column, rows in order: deterministic.
__global__ void column_sums_kernel(const float* dy, int rows, int cols, float* sums) {
  const int col = blockIdx.x * blockDim.x + threadIdx.x;
  if (col >= cols) return;
  double acc = 0.0;
  for (int r = 0; r < rows; ++r) acc += dy[int64_t(r) * cols + col];
  sums[col] = static_cast<float>(acc);
}

void check_linear(const char* op, int batch, int in_features, int out_features) {
  PRUNUS_CHECK(batch >= 1 && in_features >= 1 && out_features >= 1, op, ": batch ", batch, ", in_features ",
               in_features, ", out_features ", out_features, "; all must be >= 1");
  check_index_range(op, "x", int64_t(batch) * in_features);
  check_index_range(op, "y", int64_t(batch) * out_features);
  check_index_range(op, "w", int64_t(in_features) * out_features);
}

}  // namespace

void linear_forward(int batch, int in_features, int out_features, const float* x, const float* w, const float* bias,
                    float* y) {
  check_linear("cuda::linear_forward", batch, in_features, out_features);
  const float one = 1.0f, zero = 0.0f;
  CUBLAS_CHECK(cublasSgemm(cublas_handle(), CUBLAS_OP_T, CUBLAS_OP_N, out_features, batch, in_features, &one, w,
                           in_features, x, in_features, &zero, y, out_features));
  if (bias == nullptr) return;
  const int64_t total = int64_t(batch) * out_features;
  add_bias_rows_kernel<<<grid_for(total, kThreads), kThreads, 0, stream()>>>(y, bias, batch, out_features);
  PRUNUS_CHECK_LAUNCH("add_bias_rows_kernel");
}

void linear_backward_data(int batch, int in_features, int out_features, const float* dy, const float* w, float* dx) {
  check_linear("cuda::linear_backward_data", batch, in_features, out_features);
  const float one = 1.0f, zero = 0.0f;
  CUBLAS_CHECK(cublasSgemm(cublas_handle(), CUBLAS_OP_N, CUBLAS_OP_N, in_features, batch, out_features, &one, w,
                           in_features, dy, out_features, &zero, dx, in_features));
}

void linear_backward_weight(int batch, int in_features, int out_features, const float* x, const float* dy,
                            float* dw) {
  check_linear("cuda::linear_backward_weight", batch, in_features, out_features);
  const float one = 1.0f, zero = 0.0f;
  CUBLAS_CHECK(cublasSgemm(cublas_handle(), CUBLAS_OP_N, CUBLAS_OP_T, in_features, out_features, batch, &one, x,
                           in_features, dy, out_features, &zero, dw, in_features));
}

void linear_backward_bias(int batch, int out_features, const float* dy, float* dbias) {
  check_linear("cuda::linear_backward_bias", batch, 1, out_features);
  column_sums_kernel<<<(out_features + kThreads - 1) / kThreads, kThreads, 0, stream()>>>(dy, batch, out_features,
                                                                                        dbias);
  PRUNUS_CHECK_LAUNCH("column_sums_kernel");
}

}  // namespace cuda
}  // namespace prunus
