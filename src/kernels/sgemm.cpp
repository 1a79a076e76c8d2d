// sgemm: BLIS-style blocked matrix multiply. The N columns are cut into
// blocks of kColumnBlock, K into depth blocks, M into row blocks; each block of
// B and A is packed (gemm_packed.h) and multiplied with the register-tiled
// microkernel. Threads get disjoint slabs of C and never share a sum, so
// every element of C is computed by the same operations in the same order
// whatever the thread count: results are bit-identical across thread counts.
#include <algorithm>

#include <omp.h>

#include "prunus/error.h"
#include "prunus/kernels/gemm.h"
#include "prunus/kernels/gemm_packed.h"
#include "prunus/kernels/workspace.h"

namespace prunus {
namespace kernels {
namespace {

constexpr int kColumnBlock = 2048;  // a kc x 2048 block of packed B: 2 MB at kc = 256 (L3)

struct GemmOperands {
  bool transpose_a, transpose_b;
  int M, N, K;
  float alpha;
  const float* A;
  int lda;
  const float* B;
  int ldb;
  float beta;
  float* C;
  int ldc;
};

// One thread's share: rows of tiles [tile_begin, tile_end), columns [n_begin, n_end).
void multiply_rectangle(const GemmOperands& g, int tile_begin, int tile_end, int n_begin, int n_end) {
  using namespace gemm;
  if (tile_begin >= tile_end || n_begin >= n_end) return;
  const int k_blocks = depth_block_count(g.K);
  for (int jc = n_begin; jc < n_end; jc += kColumnBlock) {
    const int nc = std::min(kColumnBlock, n_end - jc);
    for (int kb = 0; kb < k_blocks; ++kb) {
      const int k0 = depth_block_begin(g.K, kb), kc = depth_block_begin(g.K, kb + 1) - k0;
      float* b_panels = thread_workspace(WorkspaceSlot::GemmB, size_t(padded_columns(nc)) * kc);
      pack_b_panels(g.transpose_b, g.B, g.ldb, k0, kc, jc, nc, b_panels);
      int t0 = tile_begin;
      while (t0 < tile_end) {
        int t1 = t0 + 1;
        while (t1 < tile_end && tile_row_start(g.M, t1 + 1) - tile_row_start(g.M, t0) <= kRowBlock) ++t1;
        const int rows = tile_row_start(g.M, t1) - tile_row_start(g.M, t0);
        float* a_tiles = thread_workspace(WorkspaceSlot::GemmA, size_t(rows) * kc);
        pack_a_tiles(g.transpose_a, g.A, g.lda, g.M, t0, t1, k0, kc, a_tiles);
        PackedProduct p;
        p.M = g.M;
        p.tile_begin = t0;
        p.tile_end = t1;
        p.a_tiles = a_tiles;
        p.a_k_stride = kc;
        p.b_panels = b_panels;
        p.b_k_stride = kc;
        p.n_count = nc;
        p.k_offset = 0;
        p.k_count = kc;
        p.alpha = g.alpha;
        p.beta = g.beta;
        p.first_k_block = kb == 0;
        p.C = g.C + jc;
        p.ldc = g.ldc;
        multiply_packed(p);
        t0 = t1;
      }
    }
  }
}

void scale_matrix(int M, int N, float beta, float* C, int ldc) {
  for (int i = 0; i < M; ++i) {
    float* row = C + int64_t(i) * ldc;
    if (beta == 0.0f)
      std::fill(row, row + N, 0.0f);
    else
      for (int j = 0; j < N; ++j) row[j] *= beta;
  }
}

}  // namespace

void sgemm(bool transpose_a, bool transpose_b, int M, int N, int K, float alpha, const float* A, int lda,
           const float* B, int ldb, float beta, float* C, int ldc) {
  PRUNUS_CHECK(M >= 0 && N >= 0 && K >= 0, "sgemm: sizes must be non-negative, got M=", M, " N=", N, " K=", K);
  PRUNUS_CHECK(lda >= std::max(1, transpose_a ? M : K), "sgemm: lda=", lda, " is smaller than the ",
               transpose_a ? M : K, " columns of A as stored");
  PRUNUS_CHECK(ldb >= std::max(1, transpose_b ? K : N), "sgemm: ldb=", ldb, " is smaller than the ",
               transpose_b ? K : N, " columns of B as stored");
  PRUNUS_CHECK(ldc >= std::max(1, N), "sgemm: ldc=", ldc, " is smaller than the ", N, " columns of C");
  if (M == 0 || N == 0) return;
  // BLAS: with alpha == 0 or K == 0, A and B are not read at all.
  if (K == 0 || alpha == 0.0f) {
    scale_matrix(M, N, beta, C, ldc);
    return;
  }
  const GemmOperands g{transpose_a, transpose_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc};
  const int tiles = gemm::tile_count(M), panels = gemm::panel_count(N);
  int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  if (double(M) * N * K < 64.0 * 64 * 64) threads = 1;  // too small to pay for waking threads
  const bool split_columns = panels >= 2 * threads || panels >= tiles;
  threads = std::min(threads, split_columns ? panels : tiles);
  if (threads <= 1) {
    multiply_rectangle(g, 0, tiles, 0, N);
    return;
  }
  // Slabs of C handed out dynamically, so that a thread the machine delays
  // does not hold up the others. Each slab packs the other operand again, so
  // a slab spans at least 512 rows or columns (packing under ~2% of the work).
  const int units = split_columns ? panels : tiles;
  const int extent = split_columns ? N : M;
  const int slabs = std::min(units, std::max(threads, std::min(4 * threads, extent / 512)));
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (int slab = 0; slab < slabs; ++slab) {
    const int u0 = int(int64_t(units) * slab / slabs), u1 = int(int64_t(units) * (slab + 1) / slabs);
    if (split_columns)
      multiply_rectangle(g, 0, tiles, u0 * gemm::kPanelWidth, std::min(N, u1 * gemm::kPanelWidth));
    else
      multiply_rectangle(g, u0, u1, 0, N);
  }
}

}  // namespace kernels
}  // namespace prunus
