// The implicit-GEMM convolutions (conv versions 2 and 3) run on the CPU by
// the emulator, against the reference convolution in double precision. These
// run everywhere, also where no GPU is visible: they check the tiling, the
// implicit im2col indexing, split-K and the phase/barrier structure.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "fast_divmod.cuh"
#include "gemm_emulator.h"
#include "gpu_test_helpers.h"
#include "prunus/kernels/conv2d.h"
#include "prunus/rng.h"

using namespace prunus;
using namespace prunus::cuda;
using namespace prunus_test;

namespace {

Conv2dShape conv_shape(int n, int c, int h, int w, int f, int kh, int kw, int stride, int padding) {
  Conv2dShape s;
  s.batch = n;
  s.in_channels = c;
  s.in_height = h;
  s.in_width = w;
  s.out_channels = f;
  s.kernel_h = kh;
  s.kernel_w = kw;
  s.stride = stride;
  s.padding = padding;
  return s;
}

struct ConvData {
  std::vector<float> x, w, bias, dy;
  std::vector<double> y_ref, dx_ref, dw_ref;
};

ConvData make_data(const Conv2dShape& s, Rng& rng) {
  ConvData d;
  d.x = random_values(size_t(s.batch) * s.in_channels * s.in_height * s.in_width, rng);
  d.w = random_values(size_t(s.out_channels) * s.in_channels * s.kernel_h * s.kernel_w, rng);
  d.bias = random_values(size_t(s.out_channels), rng);
  d.dy = random_values(size_t(s.batch) * s.out_channels * s.out_height() * s.out_width(), rng);
  d.y_ref.resize(d.dy.size());
  d.dx_ref.resize(d.x.size());
  d.dw_ref.resize(d.w.size());
  const std::vector<double> x = to_double(d.x), w = to_double(d.w), bias = to_double(d.bias), dy = to_double(d.dy);
  kernels::conv2d_forward_reference<double>(s, x.data(), w.data(), bias.data(), d.y_ref.data());
  kernels::conv2d_backward_data_reference<double>(s, dy.data(), w.data(), d.dx_ref.data());
  kernels::conv2d_backward_weight_reference<double>(s, x.data(), dy.data(), d.dw_ref.data());
  return d;
}

int g_split_runs = 0;  // emulations that split K (the tests check some do)

// Emulates one tile shape on one problem twice (threads in order and
// reversed); checks the two agree bit for bit and match the reference.
template <class Tile, class Problem>
void check_tile(const Problem& problem, std::vector<float>& out, const std::vector<double>& reference,
                int target_blocks, const char* what) {
  std::fill(out.begin(), out.end(), std::nanf(""));
  const SplitK split = emulate_implicit_gemm<Tile>(problem, target_blocks, false);
  if (split.splits > 1) ++g_split_runs;
  const std::vector<float> in_order = out;
  std::fill(out.begin(), out.end(), std::nanf(""));
  emulate_implicit_gemm<Tile>(problem, target_blocks, true);
  INFO(what, ": tile ", Tile::BM, "x", Tile::BN, "x", Tile::BK, " thread ", Tile::TM, "x", Tile::TN, ", ",
       split.splits, " K splits of ", split.k_per_split);
  CHECK(std::memcmp(in_order.data(), out.data(), out.size() * sizeof(float)) == 0);
  CHECK(relative_error(out, reference) < 1e-5);
}

template <class Tile>
void check_all_passes(const Conv2dShape& s, ConvData& d, int target_blocks) {
  std::vector<float> y(d.y_ref.size()), dx(d.dx_ref.size()), dw(d.dw_ref.size());
  check_tile<Tile>(make_forward_problem(s, d.x.data(), d.w.data(), d.bias.data(), y.data()), y, d.y_ref,
                   target_blocks, "forward");
  check_tile<Tile>(make_backward_data_problem(s, d.dy.data(), d.w.data(), dx.data()), dx, d.dx_ref, target_blocks,
                   "backward data");
  check_tile<Tile>(make_backward_weight_problem(s, d.x.data(), d.dy.data(), dw.data()), dw, d.dw_ref, target_blocks,
                   "backward weight");
}

void check_shape(const Conv2dShape& s, uint64_t seed) {
  Rng rng(seed);
  ConvData d = make_data(s, rng);
  INFO("shape N", s.batch, " C", s.in_channels, " ", s.in_height, "x", s.in_width, " F", s.out_channels, " k",
       s.kernel_h, "x", s.kernel_w, " s", s.stride, " p", s.padding);
  for (int target_blocks : {1, 40}) {  // 1: no split; 40: split K where the output has few tiles
    check_all_passes<ConvTiledTile>(s, d, target_blocks);
    // v3 chooses its tile by N: the filters for forward/backward-weight, the channels for backward-data.
    with_register_tile(s.out_channels, [&](auto tile) {
      using Tile = decltype(tile);
      std::vector<float> y(d.y_ref.size()), dw(d.dw_ref.size());
      check_tile<Tile>(make_forward_problem(s, d.x.data(), d.w.data(), d.bias.data(), y.data()), y, d.y_ref,
                       target_blocks, "v3 forward");
      check_tile<Tile>(make_backward_weight_problem(s, d.x.data(), d.dy.data(), dw.data()), dw, d.dw_ref,
                       target_blocks, "v3 backward weight");
    });
    with_register_tile(s.in_channels, [&](auto tile) {
      using Tile = decltype(tile);
      std::vector<float> dx(d.dx_ref.size());
      check_tile<Tile>(make_backward_data_problem(s, d.dy.data(), d.w.data(), dx.data()), dx, d.dx_ref,
                       target_blocks, "v3 backward data");
    });
  }
}

}  // namespace

TEST_SUITE("emulated_gemm") {
  TEST_CASE("FastDivmod matches / and % for many divisors and dividends") {
    Rng rng(7);
    std::vector<int> divisors = {1, 2, 3, 5, 7, 9, 16, 25, 49, 63, 64, 100, 1023, 1024, 1025, 4096, 65535, 65536,
                                 65537, 1 << 20, (1 << 20) + 1, 1000003, (1 << 30) - 1, 1 << 30, (1 << 30) + 1,
                                 2147483647};
    for (int k = 0; k < 200; ++k) divisors.push_back(1 + int(rng.below(2147483646u)));
    for (int k = 0; k < 200; ++k) divisors.push_back(1 + int(rng.below(5000)));
    for (int d : divisors) {
      const FastDivmod fast(d);
      std::vector<int> dividends = {0, 1, d - 1, d, 2147483647, 2147483646};
      if (d < 1073741824) dividends.push_back(2 * d - 1), dividends.push_back(2 * d);
      for (int k = 0; k < 300; ++k) dividends.push_back(int(rng.below(2147483648u)));
      for (int k = 0; k < 100; ++k) dividends.push_back(int(rng.below(uint64_t(d) * 10 < 2147483648u ? d * 10 : 2147483647)));
      for (int x : dividends) {
        int q = -1, r = -1;
        fast.divmod(x, q, r);
        if (q != x / d || r != x % d) FAIL_CHECK("FastDivmod(", d, ") of ", x, " gave ", q, " r ", r);
      }
    }
  }

  TEST_CASE("split-K choice covers K exactly once, in whole k-steps, within the workspace") {
    for (int K : {1, 7, 8, 9, 127, 128, 129, 4608, 131072, 1000003})
      for (int target : {1, 40, 264, 100000}) {
        const SplitK split = choose_split(100, 16, K, 128, 16, 8, target, kMaxPartialFloats);
        CHECK(split.splits >= 1);
        CHECK(split.k_per_split % 8 == 0);
        CHECK(int64_t(split.splits) * split.k_per_split >= K);          // covers K
        CHECK(int64_t(split.splits - 1) * split.k_per_split < K);       // no empty split
        CHECK(int64_t(split.splits) * 100 * 16 <= kMaxPartialFloats);
      }
    const SplitK none = choose_split(1 << 20, 512, 4608, 128, 128, 8, 264, kMaxPartialFloats);
    CHECK(none.splits == 1);  // plenty of tiles already
  }

  TEST_CASE("implicit GEMM convolutions match the reference: odd sizes, padding, stride") {
    check_shape(conv_shape(3, 5, 7, 9, 4, 3, 3, 1, 1), 11);
    check_shape(conv_shape(2, 3, 9, 7, 6, 3, 3, 2, 1), 12);   // stride 2
    check_shape(conv_shape(2, 7, 6, 5, 5, 1, 1, 1, 0), 13);   // 1x1
    check_shape(conv_shape(1, 4, 11, 10, 3, 5, 5, 2, 2), 14); // 5x5, stride 2, padding 2
    check_shape(conv_shape(2, 3, 8, 9, 5, 3, 1, 1, 0), 15);   // 3x1, no padding
    check_shape(conv_shape(2, 2, 7, 7, 3, 3, 3, 3, 1), 16);   // stride 3
  }

  TEST_CASE("implicit GEMM convolutions: every v3 tile width, several tiles and k-steps") {
    check_shape(conv_shape(2, 19, 13, 11, 21, 3, 3, 1, 1), 21);  // N 21 -> 32-wide; C 19 -> 32-wide
    check_shape(conv_shape(1, 37, 9, 9, 45, 3, 3, 1, 1), 22);    // 64-wide
    check_shape(conv_shape(1, 70, 5, 7, 67, 3, 3, 2, 1), 23);    // 128-wide, stride 2
    check_shape(conv_shape(5, 3, 15, 17, 3, 3, 3, 1, 1), 24);    // long K for backward weight: split-K
    CHECK(g_split_runs > 0);
  }
}
