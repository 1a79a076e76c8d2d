// One thread block of a tiled implicit GEMM, C[M,N] = A[M,K] * B[K,N], where
// A and B are never materialized: a Problem (conv_problems.cuh) says how to
// load A(m, k) and B(k, n) from the tensors (an implicit im2col) and where
// C(m, n) goes. Shared by conv versions 2 and 3, which differ in tile shape.
//
// Per block: a BM x BN tile of C over one K range (split-K), BK at a time.
// Each k-step: every thread loads its share of the next A and B tiles into
// registers (global memory latency overlaps the math), multiplies the current
// tiles from shared memory into its TM x TN accumulators, then stores the
// registers into the other shared buffer; one barrier per step.
//
// The block's code is written once, as phases separated by barriers, and is
// run by an executor: on the GPU every thread runs each phase for itself
// (DeviceExecutor, conv2d.cu); the CPU emulator (tests/gpu/gemm_emulator.h)
// runs each phase for all threads in turn, so the tiling and indexing are
// tested on machines without a GPU.
#pragma once
#include "fast_divmod.cuh"
#include "host_device.cuh"

namespace prunus {
namespace cuda {

template <int BM_, int BN_, int BK_, int TM_, int TN_>
struct GemmTile {
  static constexpr int BM = BM_, BN = BN_, BK = BK_, TM = TM_, TN = TN_;
  static constexpr int kThreadsM = BM / TM, kThreadsN = BN / TN;
  static constexpr int kThreads = kThreadsM * kThreadsN;
  // A thread's TM rows are GM groups of VM adjacent rows (VM = 4: one float4
  // shared-memory read), the groups kThreadsM*VM apart, so that a warp reads
  // contiguous shared memory; likewise for its TN columns.
  static constexpr int VM = TM % 4 == 0 ? 4 : 1, VN = TN % 4 == 0 ? 4 : 1;
  static constexpr int GM = TM / VM, GN = TN / VN;
  static constexpr int kLoadsA = BM * BK / kThreads, kLoadsB = BN * BK / kThreads;
  // Shared-memory row strides, padded against bank conflicts when a warp
  // stores down a column (k-major loads); a multiple of 4 for float4 reads.
  static constexpr int kStrideA = BM + (VM == 4 ? 4 : 1);
  static constexpr int kStrideB = BN + (VN == 4 ? 4 : 1);

  static_assert(BM % TM == 0 && BN % TN == 0, "the thread tile must divide the block tile");
  static_assert((BM * BK) % kThreads == 0 && (BN * BK) % kThreads == 0, "tile loads must split evenly over threads");
  static_assert(kLoadsA >= 1 && kLoadsB >= 1, "every thread loads at least one element of each tile");
  static_assert(kThreads <= 1024, "at most 1024 threads per block");

  PRUNUS_HD static int fragment_row(int thread_m, int group, int lane) { return (group * kThreadsM + thread_m) * VM + lane; }
  PRUNUS_HD static int fragment_col(int thread_n, int group, int lane) { return (group * kThreadsN + thread_n) * VN + lane; }
};

// K is cut into `splits` ranges of k_per_split (a multiple of BK) handled by
// blockIdx.z; with splits > 1 each range writes its partial C to a workspace
// and reduce_partials sums them in order of z (deterministic).
struct SplitK {
  int splits = 1;
  int k_per_split = 0;
};

inline int ceil_div(int64_t a, int64_t b) { return static_cast<int>((a + b - 1) / b); }

// Enough blocks to fill the GPU (target_blocks), but no split shorter than 16
// k-steps and no workspace above max_partials floats.
inline SplitK choose_split(int M, int N, int K, int BM, int BN, int BK, int target_blocks, int64_t max_partials) {
  const int64_t tiles = int64_t(ceil_div(M, BM)) * ceil_div(N, BN);
  int64_t splits = tiles < target_blocks ? (target_blocks + tiles - 1) / tiles : 1;
  const int64_t longest_useful = (K + 16 * BK - 1) / (16 * BK);
  if (splits > longest_useful) splits = longest_useful;
  const int64_t fits = max_partials / (int64_t(M) * N);
  if (splits > fits) splits = fits;
  if (splits > 65535) splits = 65535;
  if (splits < 1) splits = 1;
  SplitK split;
  split.k_per_split = ceil_div(ceil_div(K, splits), BK) * BK;
  split.splits = ceil_div(K, split.k_per_split);
  return split;
}

template <class Tile_, class Problem_>
struct ImplicitGemm {
  using Tile = Tile_;
  using Problem = Problem_;
  using ALoader = typename Problem::ALoader;
  using BLoader = typename Problem::BLoader;

  struct Shared {
    alignas(16) float a[2][Tile::BK][Tile::kStrideA];  // a[buffer][k][m]
    alignas(16) float b[2][Tile::BK][Tile::kStrideB];  // b[buffer][k][n]
  };

  struct Thread {
    float acc[Tile::TM][Tile::TN];
    float a_next[Tile::kLoadsA];
    float b_next[Tile::kLoadsB];
    typename ALoader::Fixed a_fixed[Tile::kLoadsA];  // what the loads need from m (or n), fixed per block
    typename BLoader::Fixed b_fixed[Tile::kLoadsB];
  };

  // Element `load` of a thread's share of a tile with `rows` rows (m or n):
  // k-major loaders take consecutive k in consecutive threads (coalesced
  // when k runs along memory), the others consecutive rows.
  template <bool kKMajor, int kRows>
  PRUNUS_HD static void load_coords(int tid, int load, int& row, int& k) {
    const int e = tid + load * Tile::kThreads;
    if constexpr (kKMajor) {
      k = e % Tile::BK;
      row = e / Tile::BK;
    } else {
      row = e % kRows;
      k = e / kRows;
    }
  }

  PRUNUS_HD static void setup(const Problem& p, int m0, int n0, int tid, Thread& t) {
    PRUNUS_UNROLL
    for (int i = 0; i < Tile::TM; ++i) {
      PRUNUS_UNROLL
      for (int j = 0; j < Tile::TN; ++j) t.acc[i][j] = 0.0f;
    }
    PRUNUS_UNROLL
    for (int r = 0; r < Tile::kLoadsA; ++r) {
      int row, k;
      load_coords<ALoader::kKMajor, Tile::BM>(tid, r, row, k);
      t.a_fixed[r] = p.a.fixed(m0 + row);
    }
    PRUNUS_UNROLL
    for (int r = 0; r < Tile::kLoadsB; ++r) {
      int row, k;
      load_coords<BLoader::kKMajor, Tile::BN>(tid, r, row, k);
      t.b_fixed[r] = p.b.fixed(n0 + row);
    }
  }

  // Global memory -> registers: the tiles for k in [k0, k0 + BK).
  PRUNUS_HD static void fetch(const Problem& p, int k0, int tid, Thread& t) {
    PRUNUS_UNROLL
    for (int r = 0; r < Tile::kLoadsA; ++r) {
      int row, k;
      load_coords<ALoader::kKMajor, Tile::BM>(tid, r, row, k);
      t.a_next[r] = p.a.load(t.a_fixed[r], k0 + k);
    }
    PRUNUS_UNROLL
    for (int r = 0; r < Tile::kLoadsB; ++r) {
      int row, k;
      load_coords<BLoader::kKMajor, Tile::BN>(tid, r, row, k);
      t.b_next[r] = p.b.load(t.b_fixed[r], k0 + k);
    }
  }

  // Registers -> shared buffer `buffer`.
  PRUNUS_HD static void stash(Shared& s, int buffer, int tid, const Thread& t) {
    PRUNUS_UNROLL
    for (int r = 0; r < Tile::kLoadsA; ++r) {
      int row, k;
      load_coords<ALoader::kKMajor, Tile::BM>(tid, r, row, k);
      s.a[buffer][k][row] = t.a_next[r];
    }
    PRUNUS_UNROLL
    for (int r = 0; r < Tile::kLoadsB; ++r) {
      int row, k;
      load_coords<BLoader::kKMajor, Tile::BN>(tid, r, row, k);
      s.b[buffer][k][row] = t.b_next[r];
    }
  }

  // acc += the thread's fragments of shared buffer `buffer`, over its BK k's.
  PRUNUS_HD static void multiply(const Shared& s, int buffer, int tid, Thread& t) {
    const int thread_n = tid % Tile::kThreadsN, thread_m = tid / Tile::kThreadsN;
    PRUNUS_UNROLL
    for (int k = 0; k < Tile::BK; ++k) {
      float a[Tile::TM], b[Tile::TN];
      PRUNUS_UNROLL
      for (int g = 0; g < Tile::GM; ++g) {
        const float* source = &s.a[buffer][k][Tile::fragment_row(thread_m, g, 0)];
        if constexpr (Tile::VM == 4) {
          const Float4 v = load_float4(source);
          a[g * 4 + 0] = v.x;
          a[g * 4 + 1] = v.y;
          a[g * 4 + 2] = v.z;
          a[g * 4 + 3] = v.w;
        } else {
          a[g] = *source;
        }
      }
      PRUNUS_UNROLL
      for (int g = 0; g < Tile::GN; ++g) {
        const float* source = &s.b[buffer][k][Tile::fragment_col(thread_n, g, 0)];
        if constexpr (Tile::VN == 4) {
          const Float4 v = load_float4(source);
          b[g * 4 + 0] = v.x;
          b[g * 4 + 1] = v.y;
          b[g * 4 + 2] = v.z;
          b[g * 4 + 3] = v.w;
        } else {
          b[g] = *source;
        }
      }
      PRUNUS_UNROLL
      for (int i = 0; i < Tile::TM; ++i) {
        PRUNUS_UNROLL
        for (int j = 0; j < Tile::TN; ++j) t.acc[i][j] += a[i] * b[j];
      }
    }
  }

  // Accumulators -> C (partials == null) or to the split's partial C,
  // partials[(z * N + n) * M + m] (m fastest, so the reduction reads and the
  // NCHW stores that follow it are coalesced).
  PRUNUS_HD static void store(const Problem& p, int m0, int n0, int z, float* partials, int tid, const Thread& t) {
    const int thread_n = tid % Tile::kThreadsN, thread_m = tid / Tile::kThreadsN;
    PRUNUS_UNROLL
    for (int i = 0; i < Tile::TM; ++i) {
      const int m = m0 + Tile::fragment_row(thread_m, i / Tile::VM, i % Tile::VM);
      if (m >= p.M) continue;
      PRUNUS_UNROLL
      for (int j = 0; j < Tile::TN; ++j) {
        const int n = n0 + Tile::fragment_col(thread_n, j / Tile::VN, j % Tile::VN);
        if (n >= p.N) continue;
        if (partials != nullptr)
          partials[(int64_t(z) * p.N + n) * p.M + m] = t.acc[i][j];
        else
          p.store(m, n, t.acc[i][j]);
      }
    }
  }

  // The whole block: tile (block_m, block_n) of C over K range block_z.
  PRUNUS_HD_TEMPLATE
  template <class Executor>
  PRUNUS_HD static void run_block(const Problem& p, const SplitK& split, int block_m, int block_n, int block_z,
                                  float* partials, Shared& s, Executor& executor) {
    const int m0 = block_m * Tile::BM, n0 = block_n * Tile::BN;
    const int k_begin = block_z * split.k_per_split;
    const int k_end = min_of(p.K, k_begin + split.k_per_split);
    const int steps = k_end > k_begin ? (k_end - k_begin + Tile::BK - 1) / Tile::BK : 0;
    executor.each([&](int tid, Thread& t) {
      setup(p, m0, n0, tid, t);
      if (steps > 0) {
        fetch(p, k_begin, tid, t);
        stash(s, 0, tid, t);
      }
    });
    executor.barrier();
    for (int step = 0; step < steps; ++step) {
      const int buffer = step & 1;
      const bool more = step + 1 < steps;
      executor.each([&](int tid, Thread& t) {
        if (more) fetch(p, k_begin + (step + 1) * Tile::BK, tid, t);
        multiply(s, buffer, tid, t);
        // The other buffer was last read in the previous step, before its barrier.
        if (more) stash(s, buffer ^ 1, tid, t);
      });
      executor.barrier();
    }
    executor.each([&](int tid, Thread& t) { store(p, m0, n0, block_z, partials, tid, t); });
  }
};

// C(m, n) = sum over z of the partials, in order of z; e = n * M + m.
template <class Problem>
PRUNUS_HD void reduce_partials_element(const Problem& p, const float* partials, int splits, int64_t e) {
  const int64_t MN = int64_t(p.M) * p.N;
  float sum = 0.0f;
  for (int z = 0; z < splits; ++z) sum += partials[z * MN + e];
  p.store(static_cast<int>(e % p.M), static_cast<int>(e / p.M), sum);
}

}  // namespace cuda
}  // namespace prunus
