// Packing of sgemm operands into the tile / panel layouts of gemm_packed.h and
// the loops that walk packed blocks with the microkernel.
#include <algorithm>
#include <cstring>

#include "prunus/error.h"
#include "prunus/kernels/gemm_packed.h"
#include "simd_transpose.h"

namespace prunus {
namespace kernels {
namespace gemm {

void pack_a_tiles(bool transpose, const float* A, int lda, int M, int tile_begin, int tile_end, int k_begin,
                  int k_count, float* dst) {
  pack_a_tiles_into(transpose, A, lda, M, tile_begin, tile_end, k_begin, k_count, dst, k_count, 0);
}

void pack_a_tiles_into(bool transpose, const float* A, int lda, int M, int tile_begin, int tile_end, int k_begin,
                       int k_count, float* dst, int dst_k_stride, int dst_k_offset, const int* row_map) {
  PRUNUS_CHECK(!(transpose && row_map), "pack_a_tiles_into: a row map needs an untransposed A");
  auto row_of = [row_map](int m) { return int64_t(row_map ? row_map[m] : m); };
  const int first_row = tile_row_start(M, tile_begin);
  for (int t = tile_begin; t < tile_end; ++t) {
    const int rows = tile_rows(M, t), row0 = tile_row_start(M, t);
    float* out = dst + int64_t(row0 - first_row) * dst_k_stride + int64_t(dst_k_offset) * rows;
    if (transpose) {
      // op(A)(m,k) = A[k*lda + m]: each k is a contiguous run of `rows` values.
      for (int k = 0; k < k_count; ++k) {
        const float* src = A + int64_t(k_begin + k) * lda + row0;
        for (int r = 0; r < rows; ++r) out[k * rows + r] = src[r];
      }
    } else {
#if defined(__AVX512F__)
      // 16 k of every row at once, transposed in registers.
      const __mmask16 row_mask = first_lanes(rows);
      for (int k = 0; k < k_count; k += 16) {
        const int kn = std::min(16, k_count - k);
        const __mmask16 k_mask = first_lanes(kn);
        __m512 block[16];
        for (int r = 0; r < 16; ++r)
          block[r] = r < rows ? _mm512_maskz_loadu_ps(k_mask, A + row_of(row0 + r) * lda + k_begin + k)
                              : _mm512_setzero_ps();
        transpose16x16(block);
        for (int u = 0; u < kn; ++u) _mm512_mask_storeu_ps(out + int64_t(k + u) * rows, row_mask, block[u]);
      }
      continue;
#endif
      // Interleave the rows; each row is read sequentially.
      for (int r = 0; r < rows; ++r) {
        const float* src = A + row_of(row0 + r) * lda + k_begin;
        for (int k = 0; k < k_count; ++k) out[k * rows + r] = src[k];
      }
    }
  }
}

void pack_b_panels(bool transpose, const float* B, int ldb, int k_begin, int k_count, int n_begin, int n_count,
                   float* dst) {
  const int panels = panel_count(n_count);
  for (int q = 0; q < panels; ++q) {
    const int col0 = n_begin + q * kPanelWidth, cols = std::min(kPanelWidth, n_count - q * kPanelWidth);
    float* out = dst + int64_t(q) * k_count * kPanelWidth;
    if (!transpose) {
      for (int k = 0; k < k_count; ++k) {
        const float* src = B + int64_t(k_begin + k) * ldb + col0;
        float* row = out + int64_t(k) * kPanelWidth;
        std::memcpy(row, src, sizeof(float) * cols);
        for (int l = cols; l < kPanelWidth; ++l) row[l] = 0.0f;
      }
    } else {
#if defined(__AVX512F__)
      // 16 columns x 16 k at a time, transposed in registers.
      for (int half = 0; half < kPanelWidth / 16; ++half) {
        const int half_cols = std::min(16, cols - 16 * half);
        for (int k = 0; k < k_count; k += 16) {
          const int kn = std::min(16, k_count - k);
          const __mmask16 k_mask = first_lanes(kn);
          __m512 block[16];
          for (int l = 0; l < 16; ++l)
            block[l] = l < half_cols ? _mm512_maskz_loadu_ps(
                                           k_mask, B + int64_t(col0 + 16 * half + l) * ldb + k_begin + k)
                                     : _mm512_setzero_ps();
          if (half_cols > 0) transpose16x16(block);
          for (int u = 0; u < kn; ++u) _mm512_storeu_ps(out + int64_t(k + u) * kPanelWidth + 16 * half, block[u]);
        }
      }
      continue;
#endif
      // op(B)(k,n) = B[n*ldb + k]: transpose blocks of 8 k at a time so both
      // the reads (8 consecutive k of one column) and the writes stay local.
      int k = 0;
      for (; k + 8 <= k_count; k += 8) {
        for (int l = 0; l < cols; ++l) {
          const float* src = B + int64_t(col0 + l) * ldb + k_begin + k;
          for (int u = 0; u < 8; ++u) out[int64_t(k + u) * kPanelWidth + l] = src[u];
        }
        for (int l = cols; l < kPanelWidth; ++l)
          for (int u = 0; u < 8; ++u) out[int64_t(k + u) * kPanelWidth + l] = 0.0f;
      }
      for (; k < k_count; ++k) {
        for (int l = 0; l < cols; ++l) out[int64_t(k) * kPanelWidth + l] = B[int64_t(col0 + l) * ldb + k_begin + k];
        for (int l = cols; l < kPanelWidth; ++l) out[int64_t(k) * kPanelWidth + l] = 0.0f;
      }
    }
  }
}

void multiply_packed(const PackedProduct& p) {
  const int panels = panel_count(p.n_count);
  const int first_row = tile_row_start(p.M, p.tile_begin);
  for (int q = 0; q < panels; ++q) {
    const float* b = p.b_panels + (int64_t(q) * p.b_k_stride + p.k_offset) * kPanelWidth;
    const int cols = std::min(kPanelWidth, p.n_count - q * kPanelWidth);
    for (int t = p.tile_begin; t < p.tile_end; ++t) {
      const int rows = tile_rows(p.M, t), row0 = tile_row_start(p.M, t);
      const float* a = p.a_tiles + int64_t(row0 - first_row) * p.a_k_stride + int64_t(p.k_offset) * rows;
      microkernel(rows, p.k_count, a, b, p.C + row0 * p.ldc + int64_t(q) * kPanelWidth, p.ldc, cols, p.alpha,
                  p.beta, p.first_k_block);
    }
  }
}

void multiply_fully_packed(int M, int tile_begin, int tile_end, int N, int K, const float* a_tiles,
                           const float* b_panels, float alpha, float beta, float* C, int64_t ldc) {
  const int tiles = tile_end;
  const int k_blocks = depth_block_count(K);
  for (int kb = 0; kb < k_blocks; ++kb) {
    const int k0 = depth_block_begin(K, kb), k1 = depth_block_begin(K, kb + 1);
    int t0 = tile_begin;
    while (t0 < tiles) {
      int t1 = t0 + 1;
      while (t1 < tiles && tile_row_start(M, t1 + 1) - tile_row_start(M, t0) <= kRowBlock) ++t1;
      PackedProduct p;
      p.M = M;
      p.tile_begin = t0;
      p.tile_end = t1;
      p.a_tiles = a_tiles + int64_t(tile_row_start(M, t0)) * K;
      p.a_k_stride = K;
      p.b_panels = b_panels;
      p.b_k_stride = K;
      p.n_count = N;
      p.k_offset = k0;
      p.k_count = k1 - k0;
      p.alpha = alpha;
      p.beta = beta;
      p.first_k_block = kb == 0;
      p.C = C;
      p.ldc = ldc;
      multiply_packed(p);
      t0 = t1;
    }
  }
}

void multiply_implicit(const ImplicitProduct& p) {
  const int k_blocks = depth_block_count(p.K);
  for (int kb = 0; kb < k_blocks; ++kb) {
    const int k0 = depth_block_begin(p.K, kb), k1 = depth_block_begin(p.K, kb + 1);
    int t0 = p.tile_begin;
    while (t0 < p.tile_end) {
      int t1 = t0 + 1;
      while (t1 < p.tile_end && tile_row_start(p.M, t1 + 1) - tile_row_start(p.M, t0) <= kRowBlock) ++t1;
      for (int q = 0; q < panel_count(p.N); ++q) {
        const int cols = std::min(kPanelWidth, p.N - q * kPanelWidth);
        for (int t = t0; t < t1; ++t) {
          const int rows = tile_rows(p.M, t), row0 = tile_row_start(p.M, t);
          microkernel_implicit(rows, k1 - k0, p.a_tiles + int64_t(row0) * p.K + int64_t(k0) * rows, p.base,
                               p.row_offsets + k0, p.halves + 2 * q, p.two_runs,
                               p.C + row0 * p.ldc + int64_t(q) * kPanelWidth, p.ldc, cols, p.alpha, p.beta, kb == 0);
        }
      }
      t0 = t1;
    }
  }
}

}  // namespace gemm
}  // namespace kernels
}  // namespace prunus
