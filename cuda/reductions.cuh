// Deterministic sums across a warp and a block: a fixed butterfly of
// shuffles, in double, so the result does not depend on scheduling.
#pragma once
#include <cuda_runtime.h>

namespace prunus {
namespace cuda {

constexpr unsigned kFullWarp = 0xffffffffu;

// Every lane gets the sum of all 32 lanes' values.
__device__ __forceinline__ double warp_sum(double value) {
  for (int offset = 16; offset > 0; offset >>= 1) value += __shfl_xor_sync(kFullWarp, value, offset);
  return value;
}

// Sums a and b over the whole block (blockDim.x a multiple of 32, at most
// 1024); thread 0 gets the totals. Every thread of the block must call it.
__device__ __forceinline__ void block_sum_pair(double& a, double& b) {
  __shared__ double warp_a[32], warp_b[32];
  a = warp_sum(a);
  b = warp_sum(b);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  __syncthreads();  // a previous call's readers are done with warp_a/warp_b
  if (lane == 0) {
    warp_a[warp] = a;
    warp_b[warp] = b;
  }
  __syncthreads();
  if (warp == 0) {
    a = lane < warps ? warp_a[lane] : 0.0;
    b = lane < warps ? warp_b[lane] : 0.0;
    a = warp_sum(a);
    b = warp_sum(b);
  }
}

}  // namespace cuda
}  // namespace prunus
