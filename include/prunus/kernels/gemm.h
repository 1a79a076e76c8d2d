// Single-precision matrix multiply, row-major:
//   C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C
// with op(X) = X or X^T, lda/ldb/ldc the row strides as stored.
#pragma once

namespace prunus {
namespace kernels {

template <typename T>
void gemm_reference(bool transpose_a, bool transpose_b, int M, int N, int K, T alpha, const T* A, int lda,
                    const T* B, int ldb, T beta, T* C, int ldc);

// Blocked, vectorized (AVX-512 / AVX2+FMA / scalar, chosen at build time),
// multithreaded over the OpenMP threads.
void sgemm(bool transpose_a, bool transpose_b, int M, int N, int K, float alpha, const float* A, int lda,
           const float* B, int ldb, float beta, float* C, int ldc);

}  // namespace kernels
}  // namespace prunus
