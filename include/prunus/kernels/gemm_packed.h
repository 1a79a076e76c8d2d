// The building blocks under sgemm, exposed so convolutions can feed the same
// register-tiled microkernel with operands they pack themselves (im2col
// straight into panel layout, a weight packed once per call).
//
// Layouts (k = the reduction index):
//   A tiles:  the M rows are split into tiles of at most kMaxTileRows rows,
//             balanced (sizes differ by at most one). Tile t of a packed block
//             starts at (tile_row_start(t) - tile_row_start(first)) * k_stride
//             and holds element (k, r) at k * tile_rows(t) + r.
//   B panels: the N columns are split into panels of kPanelWidth columns;
//             panel q starts at q * k_stride * kPanelWidth and holds element
//             (k, l) at k * kPanelWidth + l; lanes past N are zero.
// k_stride is the number of k values the packing holds; a multiply may use a
// sub-range [k_offset, k_offset + k_count) of them.
#pragma once
#include <cstdint>

namespace prunus {
namespace kernels {
namespace gemm {

#if defined(__AVX512F__)
constexpr int kPanelWidth = 32;   // two zmm registers of C per row
constexpr int kMaxTileRows = 14;  // 28 accumulators + 2 B vectors + 1 broadcast <= 32 registers
#elif defined(__AVX2__) && defined(__FMA__)
constexpr int kPanelWidth = 16;
constexpr int kMaxTileRows = 6;
#else
constexpr int kPanelWidth = 8;
constexpr int kMaxTileRows = 4;
#endif

// Cache blocking: a kc x kPanelWidth slice of B stays in L1, the A tiles of
// one row block (at most kRowBlock rows x kc) stay in L2.
constexpr int kDepthBlock = 384;
constexpr int kRowBlock = 280;  // a multiple of 14 and 4; about 280 KB of A at kc = 256

inline int tile_count(int M) { return (M + kMaxTileRows - 1) / kMaxTileRows; }
inline int tile_row_start(int M, int t) {
  const int tiles = tile_count(M), base = M / tiles, extra = M % tiles;
  return t * base + (t < extra ? t : extra);
}
inline int tile_rows(int M, int t) {
  const int tiles = tile_count(M);
  return M / tiles + (t < M % tiles ? 1 : 0);
}
// K is cut into balanced depth blocks (K = 288 gives 144 + 144, not 256 + 32).
inline int depth_block_count(int K) { return (K + kDepthBlock - 1) / kDepthBlock; }
inline int depth_block_begin(int K, int block) {
  return int(int64_t(K) * block / depth_block_count(K));
}
inline int panel_count(int N) { return (N + kPanelWidth - 1) / kPanelWidth; }
inline int64_t padded_columns(int N) { return int64_t(panel_count(N)) * kPanelWidth; }

// Packs op(A)[M,K] rows of tiles [tile_begin, tile_end), k in [k_begin, k_begin + k_count).
// op(A) = A (element (m,k) at A[m*lda + k]) or A^T (at A[k*lda + m]).
void pack_a_tiles(bool transpose, const float* A, int lda, int M, int tile_begin, int tile_end, int k_begin,
                  int k_count, float* dst);
// The same into a packing that holds dst_k_stride k values, at k position
// dst_k_offset: several sources can fill one packing's k range piece by piece.
// With row_map (not transposed only), row m of op(A) is A's row row_map[m].
void pack_a_tiles_into(bool transpose, const float* A, int lda, int M, int tile_begin, int tile_end, int k_begin,
                       int k_count, float* dst, int dst_k_stride, int dst_k_offset, const int* row_map = nullptr);

// Packs op(B)[K,N] columns [n_begin, n_begin + n_count), k in [k_begin, k_begin + k_count).
// op(B) = B (element (k,n) at B[k*ldb + n]) or B^T (at B[n*ldb + k]).
void pack_b_panels(bool transpose, const float* B, int ldb, int k_begin, int k_count, int n_begin, int n_count,
                   float* dst);

// C[rows of tiles [tile_begin,tile_end), n_count columns] (C points at row 0
// of the M rows, ldc its row stride):
//   first_k_block: C = alpha * A*B + beta * C   (beta == 0 ignores C)
//   otherwise:     C = C + alpha * A*B
// a_tiles points at the first packed tile, b_panels at the first panel.
struct PackedProduct {
  int M = 0;                       // rows of the whole tile split
  int tile_begin = 0, tile_end = 0;
  const float* a_tiles = nullptr;
  int a_k_stride = 0;
  const float* b_panels = nullptr;
  int b_k_stride = 0;
  int n_count = 0;
  int k_offset = 0, k_count = 0;
  float alpha = 1.0f, beta = 0.0f;
  bool first_k_block = true;
  float* C = nullptr;
  int64_t ldc = 0;
};
void multiply_packed(const PackedProduct& p);

// C[rows of tiles [tile_begin, tile_end), N] = alpha * A*B + beta*C over the
// full K, with A packed as tiles over all M and all K (k_stride K; a_tiles
// points at tile 0) and B packed as panels over all N and K; C points at
// row 0. Blocks over K and M for the caches. Single-threaded.
void multiply_fully_packed(int M, int tile_begin, int tile_end, int N, int K, const float* a_tiles,
                           const float* b_panels, float alpha, float beta, float* C, int64_t ldc);

// The register-tiled kernel: rows x kPanelWidth block of C, with n_cols <= kPanelWidth valid.
void microkernel(int rows, int k_count, const float* a, const float* b, float* c, int64_t ldc, int n_cols,
                 float alpha, float beta, bool first_k_block);

// "Implicit" B, read where it lies instead of from a packed panel. Each half
// panel (16 lanes) is at most two contiguous runs: lanes [0, split) read
// row + first + l, lanes [split, 16) read row + second + (l - split), where
// row = base + row_offsets[k]. A stride-1 convolution reads its im2col
// matrix this way straight from the padded input, with no im2col copy: a half
// panel is 16 output pixels, on one output row or on two. Fast with AVX-512
// (kImplicitPanels); elsewhere it gathers a panel first.
constexpr bool kImplicitPanels = kPanelWidth == 32;
struct ImplicitHalf {
  int64_t first = 0, second = 0;
  int split = 16;  // 16: one run
};
void microkernel_implicit(int rows, int k_count, const float* a, const float* base, const int64_t* row_offsets,
                          const ImplicitHalf* halves, bool two_runs, float* c, int64_t ldc, int n_cols, float alpha,
                          float beta, bool first_k_block);

// C[rows of tiles [tile_begin, tile_end), N] = alpha * A*B + beta*C with A as
// in multiply_fully_packed and B implicit: panel q's halves are halves[2q],
// halves[2q + 1]; two_runs says whether any half has a second run.
// Single-threaded.
struct ImplicitProduct {
  int M = 0, tile_begin = 0, tile_end = 0, N = 0, K = 0;
  const float* a_tiles = nullptr;  // all tiles, k_stride K
  const float* base = nullptr;
  const int64_t* row_offsets = nullptr;  // K of them
  const ImplicitHalf* halves = nullptr;  // 2 per panel
  bool two_runs = false;
  float alpha = 1.0f, beta = 0.0f;
  float* C = nullptr;
  int64_t ldc = 0;
};
void multiply_implicit(const ImplicitProduct& p);

}  // namespace gemm
}  // namespace kernels
}  // namespace prunus
