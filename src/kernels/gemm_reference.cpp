#include "prunus/kernels/gemm.h"

namespace prunus {
namespace kernels {

template <typename T>
void gemm_reference(bool transpose_a, bool transpose_b, int M, int N, int K, T alpha, const T* A, int lda,
                    const T* B, int ldb, T beta, T* C, int ldc) {
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) {
      T acc = T(0);
      for (int k = 0; k < K; ++k) {
        const T a = transpose_a ? A[k * lda + i] : A[i * lda + k];
        const T b = transpose_b ? B[j * ldb + k] : B[k * ldb + j];
        acc += a * b;
      }
      // beta == 0 must ignore C's old contents, NaNs included (BLAS semantics).
      C[i * ldc + j] = alpha * acc + (beta == T(0) ? T(0) : beta * C[i * ldc + j]);
    }
}

template void gemm_reference<float>(bool, bool, int, int, int, float, const float*, int, const float*, int,
                                    float, float*, int);
template void gemm_reference<double>(bool, bool, int, int, int, double, const double*, int, const double*, int,
                                     double, double*, int);

}  // namespace kernels
}  // namespace prunus
