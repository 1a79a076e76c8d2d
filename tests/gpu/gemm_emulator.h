// Runs the implicit-GEMM conv kernels (cuda/implicit_gemm.cuh) on the CPU:
// every block of the grid, each phase for all threads in turn (the phases are
// what the GPU separates with barriers), then the split-K reduction, exactly
// as cuda/conv2d.cu launches them. Shared memory and per-thread registers
// start as NaN, so a read of something never written poisons the result, and
// running the threads in reverse order inside each phase must give the same
// bits, or a phase depends on another thread's writes without a barrier.
#pragma once
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "conv_problems.cuh"
#include "conv_tiles.cuh"
#include "implicit_gemm.cuh"

namespace prunus_test {

template <class Thread>
struct HostExecutor {
  std::vector<Thread>& threads;
  bool reverse;
  template <class Phase>
  void each(Phase&& phase) {
    const int count = static_cast<int>(threads.size());
    for (int i = 0; i < count; ++i) {
      const int tid = reverse ? count - 1 - i : i;
      phase(tid, threads[tid]);
    }
  }
  void barrier() {}
};

// Returns the split the launch used.
template <class Tile, class Problem>
prunus::cuda::SplitK emulate_implicit_gemm(const Problem& problem, int target_blocks, bool reverse_threads) {
  using namespace prunus::cuda;
  using Gemm = ImplicitGemm<Tile, Problem>;
  const SplitK split =
      choose_split(problem.M, problem.N, problem.K, Tile::BM, Tile::BN, Tile::BK, target_blocks, kMaxPartialFloats);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> partials(split.splits > 1 ? size_t(split.splits) * problem.M * problem.N : 0, nan);
  auto shared = std::make_unique<typename Gemm::Shared>();
  std::vector<typename Gemm::Thread> threads(Tile::kThreads);
  const int blocks_m = ceil_div(problem.M, Tile::BM), blocks_n = ceil_div(problem.N, Tile::BN);
  for (int z = 0; z < split.splits; ++z)
    for (int bn = 0; bn < blocks_n; ++bn)
      for (int bm = 0; bm < blocks_m; ++bm) {
        std::memset(static_cast<void*>(shared.get()), 0xff, sizeof(typename Gemm::Shared));  // all NaN
        std::memset(static_cast<void*>(threads.data()), 0xff, threads.size() * sizeof(typename Gemm::Thread));
        HostExecutor<typename Gemm::Thread> executor{threads, reverse_threads};
        Gemm::run_block(problem, split, bm, bn, z, split.splits > 1 ? partials.data() : nullptr, *shared, executor);
      }
  if (split.splits > 1)
    for (int64_t e = 0; e < int64_t(problem.M) * problem.N; ++e)
      reduce_partials_element(problem, partials.data(), split.splits, e);
  return split;
}

}  // namespace prunus_test
