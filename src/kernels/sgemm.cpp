// PLACEHOLDER until the CPU-speed work lands: forwards to the reference.
#include "prunus/kernels/gemm.h"

namespace prunus {
namespace kernels {

void sgemm(bool transpose_a, bool transpose_b, int M, int N, int K, float alpha, const float* A, int lda,
           const float* B, int ldb, float beta, float* C, int ldc) {
  gemm_reference(transpose_a, transpose_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace kernels
}  // namespace prunus
