// The tile shapes of conv versions 2 and 3 (kernels.h), shared by the
// launcher (conv2d.cu) and the CPU emulator tests, so both run the same code.
#pragma once
#include "implicit_gemm.cuh"

namespace prunus {
namespace cuda {

// v2: 16x16 tiles, one output per thread.
using ConvTiledTile = GemmTile<16, 16, 16, 1, 1>;

// v3: 128 rows per block; the tile width follows N (a channel count), so that
// 16-channel layers do not waste 7/8 of a 128-wide tile. Calls
// visit(GemmTile<...>{}) with the tile for this N.
template <class Visitor>
void with_register_tile(int n, Visitor&& visit) {
  if (n <= 16)
    visit(GemmTile<128, 16, 8, 4, 4>{});
  else if (n <= 32)
    visit(GemmTile<128, 32, 8, 8, 4>{});
  else if (n <= 64)
    visit(GemmTile<128, 64, 8, 8, 4>{});
  else
    visit(GemmTile<128, 128, 8, 8, 8>{});
}

// Split-K workspace limit: 128 MiB of partial sums.
constexpr int64_t kMaxPartialFloats = int64_t(32) << 20;

}  // namespace cuda
}  // namespace prunus
