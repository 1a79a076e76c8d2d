// The register-tiled inner kernel of sgemm: a rows x kPanelWidth block of C
// accumulated in registers over k, A broadcast one element at a time, B read
// as whole vectors. One version per instruction set, chosen at build time.
#include <cstddef>
#include <utility>
#include <vector>

#include "prunus/kernels/gemm_packed.h"

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

namespace prunus {
namespace kernels {
namespace gemm {
namespace {

#if defined(__AVX512F__)

__mmask16 lane_mask(int valid) {
  if (valid >= 16) return 0xFFFF;
  if (valid <= 0) return 0;
  return static_cast<__mmask16>((1u << valid) - 1u);
}

// Where the kernel reads B: a packed panel, or rows of an image in place
// (two contiguous runs of 16 lanes per row; see microkernel_implicit).
struct PackedPanel {
  const float* b;
  void load(int k, __m512& b0, __m512& b1) const {
    b0 = _mm512_loadu_ps(b + k * 32);
    b1 = _mm512_loadu_ps(b + k * 32 + 16);
  }
};
template <bool TWO_RUNS>
struct ImplicitPanel {
  const float* base;
  const int64_t* row_offsets;
  int64_t first0, second0, first1, second1;  // per half: its runs' offsets (second already minus split)
  __mmask16 first_mask0, second_mask0, first_mask1, second_mask1;
  void load(int k, __m512& b0, __m512& b1) const {
    const float* row = base + row_offsets[k];
    b0 = _mm512_maskz_loadu_ps(first_mask0, row + first0);
    b1 = _mm512_maskz_loadu_ps(first_mask1, row + first1);
    if (TWO_RUNS) {
      b0 = _mm512_mask_loadu_ps(b0, second_mask0, row + second0);
      b1 = _mm512_mask_loadu_ps(b1, second_mask1, row + second1);
    }
  }
};

template <int ROWS, class BSource>
void tile_kernel_from(int k_count, const float* __restrict a, const BSource& source, float* __restrict c,
                      int64_t ldc, int n_cols, float alpha, float beta, bool first_k_block) {
  __m512 acc0[ROWS], acc1[ROWS];
#pragma GCC unroll 16
  for (int r = 0; r < ROWS; ++r) {
    acc0[r] = _mm512_setzero_ps();
    acc1[r] = _mm512_setzero_ps();
  }
  // Touch the C rows now so the final update does not wait on memory.
#pragma GCC unroll 16
  for (int r = 0; r < ROWS; ++r) _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc), _MM_HINT_T0);
  for (int k = 0; k < k_count; ++k) {
    __m512 b0, b1;
    source.load(k, b0, b1);
#pragma GCC unroll 16
    for (int r = 0; r < ROWS; ++r) {
      const __m512 av = _mm512_set1_ps(a[r]);
      acc0[r] = _mm512_fmadd_ps(av, b0, acc0[r]);
      acc1[r] = _mm512_fmadd_ps(av, b1, acc1[r]);
    }
    a += ROWS;
  }
  const __mmask16 m0 = lane_mask(n_cols), m1 = lane_mask(n_cols - 16);
  const __m512 va = _mm512_set1_ps(alpha);
  if (first_k_block && beta == 0.0f) {
#pragma GCC unroll 16
    for (int r = 0; r < ROWS; ++r) {
      _mm512_mask_storeu_ps(c + r * ldc, m0, _mm512_mul_ps(va, acc0[r]));
      _mm512_mask_storeu_ps(c + r * ldc + 16, m1, _mm512_mul_ps(va, acc1[r]));
    }
  } else {
    const __m512 vc = _mm512_set1_ps(first_k_block ? beta : 1.0f);
#pragma GCC unroll 16
    for (int r = 0; r < ROWS; ++r) {
      float* row = c + r * ldc;
      const __m512 old0 = _mm512_mul_ps(vc, _mm512_maskz_loadu_ps(m0, row));
      const __m512 old1 = _mm512_mul_ps(vc, _mm512_maskz_loadu_ps(m1, row + 16));
      _mm512_mask_storeu_ps(row, m0, _mm512_fmadd_ps(va, acc0[r], old0));
      _mm512_mask_storeu_ps(row + 16, m1, _mm512_fmadd_ps(va, acc1[r], old1));
    }
  }
}

template <int ROWS>
void tile_kernel(int k_count, const float* __restrict a, const float* __restrict b, float* __restrict c,
                 int64_t ldc, int n_cols, float alpha, float beta, bool first_k_block) {
  tile_kernel_from<ROWS>(k_count, a, PackedPanel{b}, c, ldc, n_cols, alpha, beta, first_k_block);
}

template <int ROWS, bool TWO_RUNS>
void implicit_tile_kernel(int k_count, const float* a, const ImplicitPanel<TWO_RUNS>& source, float* c,
                          int64_t ldc, int n_cols, float alpha, float beta, bool first_k_block) {
  tile_kernel_from<ROWS>(k_count, a, source, c, ldc, n_cols, alpha, beta, first_k_block);
}

#elif defined(__AVX2__) && defined(__FMA__)

template <int ROWS>
void tile_kernel(int k_count, const float* __restrict a, const float* __restrict b, float* __restrict c,
                 int64_t ldc, int n_cols, float alpha, float beta, bool first_k_block) {
  __m256 acc0[ROWS], acc1[ROWS];
#pragma GCC unroll 8
  for (int r = 0; r < ROWS; ++r) {
    acc0[r] = _mm256_setzero_ps();
    acc1[r] = _mm256_setzero_ps();
  }
  for (int k = 0; k < k_count; ++k) {
    const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 8
    for (int r = 0; r < ROWS; ++r) {
      const __m256 av = _mm256_broadcast_ss(a + r);
      acc0[r] = _mm256_fmadd_ps(av, b0, acc0[r]);
      acc1[r] = _mm256_fmadd_ps(av, b1, acc1[r]);
    }
    a += ROWS;
    b += 16;
  }
  alignas(32) float tile[ROWS][16];
  const __m256 va = _mm256_set1_ps(alpha);
#pragma GCC unroll 8
  for (int r = 0; r < ROWS; ++r) {
    _mm256_store_ps(tile[r], _mm256_mul_ps(va, acc0[r]));
    _mm256_store_ps(tile[r] + 8, _mm256_mul_ps(va, acc1[r]));
  }
  const float scale = first_k_block ? beta : 1.0f;
  for (int r = 0; r < ROWS; ++r) {
    float* row = c + r * ldc;
    if (first_k_block && beta == 0.0f)
      for (int l = 0; l < n_cols; ++l) row[l] = tile[r][l];
    else
      for (int l = 0; l < n_cols; ++l) row[l] = tile[r][l] + scale * row[l];
  }
}

#else

template <int ROWS>
void tile_kernel(int k_count, const float* __restrict a, const float* __restrict b, float* __restrict c,
                 int64_t ldc, int n_cols, float alpha, float beta, bool first_k_block) {
  float acc[ROWS][kPanelWidth] = {};
  for (int k = 0; k < k_count; ++k) {
    for (int r = 0; r < ROWS; ++r)
      for (int l = 0; l < kPanelWidth; ++l) acc[r][l] += a[r] * b[l];
    a += ROWS;
    b += kPanelWidth;
  }
  const float scale = first_k_block ? beta : 1.0f;
  for (int r = 0; r < ROWS; ++r) {
    float* row = c + r * ldc;
    if (first_k_block && beta == 0.0f)
      for (int l = 0; l < n_cols; ++l) row[l] = alpha * acc[r][l];
    else
      for (int l = 0; l < n_cols; ++l) row[l] = alpha * acc[r][l] + scale * row[l];
  }
}

#endif

using TileKernel = void (*)(int, const float*, const float*, float*, int64_t, int, float, float, bool);

template <int... R>
struct KernelTable {
  static constexpr TileKernel entries[sizeof...(R)] = {&tile_kernel<R + 1>...};
};
template <int... R>
constexpr TileKernel KernelTable<R...>::entries[sizeof...(R)];

template <int... R>
constexpr const TileKernel* make_table(std::integer_sequence<int, R...>) {
  return KernelTable<R...>::entries;
}

#if defined(__AVX512F__)
template <bool TWO_RUNS>
using ImplicitKernel = void (*)(int, const float*, const ImplicitPanel<TWO_RUNS>&, float*, int64_t, int, float,
                                float, bool);
template <bool TWO_RUNS, int... R>
struct ImplicitTable {
  static constexpr ImplicitKernel<TWO_RUNS> entries[sizeof...(R)] = {&implicit_tile_kernel<R + 1, TWO_RUNS>...};
};
template <bool TWO_RUNS, int... R>
constexpr ImplicitKernel<TWO_RUNS> ImplicitTable<TWO_RUNS, R...>::entries[sizeof...(R)];
template <bool TWO_RUNS, int... R>
constexpr const ImplicitKernel<TWO_RUNS>* make_implicit_table(std::integer_sequence<int, R...>) {
  return ImplicitTable<TWO_RUNS, R...>::entries;
}

template <bool TWO_RUNS>
void run_implicit(int rows, int k_count, const float* a, const float* base, const int64_t* row_offsets,
                  const ImplicitHalf* halves, float* c, int64_t ldc, int n_cols, float alpha, float beta,
                  bool first_k_block) {
  static const ImplicitKernel<TWO_RUNS>* const table =
      make_implicit_table<TWO_RUNS>(std::make_integer_sequence<int, kMaxTileRows>{});
  const __mmask16 valid0 = lane_mask(n_cols), valid1 = lane_mask(n_cols - 16);
  const __mmask16 head0 = lane_mask(halves[0].split), head1 = lane_mask(halves[1].split);
  const ImplicitPanel<TWO_RUNS> source{base,
                                       row_offsets,
                                       halves[0].first,
                                       halves[0].second - halves[0].split,
                                       halves[1].first,
                                       halves[1].second - halves[1].split,
                                       static_cast<__mmask16>(valid0 & head0),
                                       static_cast<__mmask16>(valid0 & ~head0),
                                       static_cast<__mmask16>(valid1 & head1),
                                       static_cast<__mmask16>(valid1 & ~head1)};
  table[rows - 1](k_count, a, source, c, ldc, n_cols, alpha, beta, first_k_block);
}
#endif

}  // namespace

void microkernel_implicit(int rows, int k_count, const float* a, const float* base, const int64_t* row_offsets,
                          const ImplicitHalf* halves, bool two_runs, float* c, int64_t ldc, int n_cols, float alpha,
                          float beta, bool first_k_block) {
#if defined(__AVX512F__)
  if (two_runs)
    run_implicit<true>(rows, k_count, a, base, row_offsets, halves, c, ldc, n_cols, alpha, beta, first_k_block);
  else
    run_implicit<false>(rows, k_count, a, base, row_offsets, halves, c, ldc, n_cols, alpha, beta, first_k_block);
#else
  // Gather the panel, then the ordinary kernel.
  thread_local std::vector<float> panel;
  panel.assign(std::size_t(k_count) * kPanelWidth, 0.0f);
  for (int k = 0; k < k_count; ++k)
    for (int l = 0; l < n_cols; ++l) {
      const ImplicitHalf& h = halves[l / 16];
      const int lane = l % 16;
      panel[std::size_t(k) * kPanelWidth + l] =
          base[row_offsets[k] + (lane < h.split ? h.first + lane : h.second + lane - h.split)];
    }
  microkernel(rows, k_count, a, panel.data(), c, ldc, n_cols, alpha, beta, first_k_block);
#endif
}

void microkernel(int rows, int k_count, const float* a, const float* b, float* c, int64_t ldc, int n_cols,
                 float alpha, float beta, bool first_k_block) {
  static const TileKernel* const table = make_table(std::make_integer_sequence<int, kMaxTileRows>{});
  table[rows - 1](k_count, a, b, c, ldc, n_cols, alpha, beta, first_k_block);
}

}  // namespace gemm
}  // namespace kernels
}  // namespace prunus
