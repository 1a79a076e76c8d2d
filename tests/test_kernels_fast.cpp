// The fast float32 kernels (sgemm, im2col convolutions, stripe-sparse
// convolutions) against the reference kernels, computed in double precision.
#include <doctest/doctest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "prunus/error.h"
#include "prunus/kernels/conv2d.h"
#include "prunus/kernels/gemm.h"
#include "prunus/rng.h"

using namespace prunus;
using namespace prunus::kernels;

namespace {

std::vector<float> random_values(size_t count, Rng& rng) {
  std::vector<float> v(count);
  for (float& x : v) x = float(rng.uniform(-1.0, 1.0));
  return v;
}

std::vector<double> to_double(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }

// max |fast - reference| / max |reference| (or the absolute error when the reference is all zero).
double relative_error(const std::vector<float>& fast, const std::vector<double>& reference) {
  REQUIRE(fast.size() == reference.size());
  double worst = 0, scale = 0;
  for (size_t i = 0; i < fast.size(); ++i) {
    worst = std::max(worst, std::fabs(double(fast[i]) - reference[i]));
    scale = std::max(scale, std::fabs(reference[i]));
  }
  return scale > 0 ? worst / scale : worst;
}

// Runs f with the given OpenMP thread count, restoring the old one.
template <typename F>
void with_threads(int threads, F&& f) {
  const int old = omp_get_max_threads();
  omp_set_num_threads(threads);
  f();
  omp_set_num_threads(old);
}

struct GemmCase {
  int M, N, K;
};

void check_sgemm(const GemmCase& c, bool ta, bool tb, float alpha, float beta, int pad, Rng& rng) {
  const int lda = (ta ? c.M : c.K) + pad, ldb = (tb ? c.K : c.N) + pad, ldc = c.N + pad;
  const std::vector<float> A = random_values(size_t(ta ? c.K : c.M) * lda, rng);
  const std::vector<float> B = random_values(size_t(tb ? c.N : c.K) * ldb, rng);
  std::vector<float> C = random_values(size_t(c.M) * ldc, rng);
  std::vector<double> expected = to_double(C);
  gemm_reference<double>(ta, tb, c.M, c.N, c.K, alpha, to_double(A).data(), lda, to_double(B).data(), ldb, beta,
                         expected.data(), ldc);
  sgemm(ta, tb, c.M, c.N, c.K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
  INFO("M=", c.M, " N=", c.N, " K=", c.K, " ta=", ta, " tb=", tb, " alpha=", alpha, " beta=", beta, " pad=", pad);
  CHECK(relative_error(C, expected) < 1e-5);
}

}  // namespace

TEST_SUITE("kernels") {
  TEST_CASE("sgemm matches the reference for odd sizes, all transposes, alpha/beta and padded strides") {
    Rng rng(11);
    // Not multiples of the tile sizes; K = 300 and 600 span several depth
    // blocks, M = 300 several row blocks, N = 2100 several column blocks.
    const GemmCase cases[] = {{1, 1, 1},    {7, 13, 5},   {67, 129, 33}, {200, 3, 300},
                              {16, 200, 9}, {300, 45, 20}, {3, 2100, 7},  {29, 31, 600}};
    for (const GemmCase& c : cases)
      for (int ta = 0; ta < 2; ++ta)
        for (int tb = 0; tb < 2; ++tb) {
          check_sgemm(c, ta, tb, 1.0f, 0.0f, 0, rng);
          check_sgemm(c, ta, tb, -0.75f, 1.5f, 3, rng);
        }
  }

  TEST_CASE("sgemm: beta = 0 ignores NaN in C, alpha = 0 reads neither A nor B, K = 0 scales C") {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    std::vector<float> A = {1, 2, 3, 4, 5, 6}, B = {1, 0, 0, 1, 1, 1};  // A [2,3], B [3,2]
    std::vector<float> C(4, nan);
    sgemm(false, false, 2, 2, 3, 1.0f, A.data(), 3, B.data(), 2, 0.0f, C.data(), 2);
    CHECK(C == std::vector<float>{4, 5, 10, 11});
    std::vector<float> bad(6, nan);
    sgemm(false, false, 2, 2, 3, 0.0f, bad.data(), 3, bad.data(), 2, 2.0f, C.data(), 2);
    CHECK(C == std::vector<float>{8, 10, 20, 22});
    sgemm(false, false, 2, 2, 0, 1.0f, A.data(), 1, B.data(), 2, -1.0f, C.data(), 2);
    CHECK(C == std::vector<float>{-8, -10, -20, -22});
  }

  TEST_CASE("sgemm refuses negative sizes and too small leading dimensions") {
    std::vector<float> buffer(64, 1.0f);
    CHECK_THROWS_AS(sgemm(false, false, -1, 2, 2, 1, buffer.data(), 2, buffer.data(), 2, 0, buffer.data(), 2), Error);
    CHECK_THROWS_AS(sgemm(false, false, 2, 2, 3, 1, buffer.data(), 2, buffer.data(), 2, 0, buffer.data(), 2), Error);
    CHECK_THROWS_AS(sgemm(false, true, 2, 2, 3, 1, buffer.data(), 3, buffer.data(), 2, 0, buffer.data(), 2), Error);
    CHECK_THROWS_AS(sgemm(false, false, 2, 5, 3, 1, buffer.data(), 3, buffer.data(), 5, 0, buffer.data(), 4), Error);
  }

  TEST_CASE("sgemm gives bit-identical results with 1 and 2 threads") {
    Rng rng(12);
    const int M = 45, N = 333, K = 290;
    const std::vector<float> A = random_values(size_t(M) * K, rng), B = random_values(size_t(K) * N, rng);
    std::vector<float> one(size_t(M) * N), two(size_t(M) * N);
    with_threads(1, [&] { sgemm(false, false, M, N, K, 1, A.data(), K, B.data(), N, 0, one.data(), N); });
    with_threads(2, [&] { sgemm(false, false, M, N, K, 1, A.data(), K, B.data(), N, 0, two.data(), N); });
    CHECK(one == two);
  }
}

namespace {

struct ConvCase {
  int batch, channels, height, width, filters, kernel_h, kernel_w, stride, padding;
  Conv2dShape shape() const {
    Conv2dShape s;
    s.batch = batch;
    s.in_channels = channels;
    s.in_height = height;
    s.in_width = width;
    s.out_channels = filters;
    s.kernel_h = kernel_h;
    s.kernel_w = kernel_w;
    s.stride = stride;
    s.padding = padding;
    return s;
  }
};

struct ConvResults {
  std::vector<float> y, dx, dw;
};

ConvResults run_fast_conv(const Conv2dShape& s, const std::vector<float>& x, const std::vector<float>& w,
                          const std::vector<float>& bias, const std::vector<float>& dy) {
  ConvResults r;
  r.y.assign(size_t(s.batch) * s.out_channels * s.out_height() * s.out_width(), 7.0f);
  r.dx.assign(x.size(), 7.0f);  // stale contents must be overwritten
  r.dw.assign(w.size(), 7.0f);
  conv2d_forward(s, x.data(), w.data(), bias.data(), r.y.data());
  conv2d_backward_data(s, dy.data(), w.data(), r.dx.data());
  conv2d_backward_weight(s, x.data(), dy.data(), r.dw.data());
  return r;
}

void check_fast_conv(const ConvCase& c, Rng& rng) {
  const Conv2dShape s = c.shape();
  const size_t y_size = size_t(s.batch) * s.out_channels * s.out_height() * s.out_width();
  const std::vector<float> x = random_values(size_t(s.batch) * s.in_channels * s.in_height * s.in_width, rng);
  const std::vector<float> w = random_values(size_t(s.out_channels) * s.in_channels * s.kernel_h * s.kernel_w, rng);
  const std::vector<float> bias = random_values(size_t(s.out_channels), rng);
  const std::vector<float> dy = random_values(y_size, rng);
  std::vector<double> y(y_size), dx(x.size()), dw(w.size());
  const std::vector<double> xd = to_double(x), wd = to_double(w), bd = to_double(bias), dyd = to_double(dy);
  conv2d_forward_reference<double>(s, xd.data(), wd.data(), bd.data(), y.data());
  conv2d_backward_data_reference<double>(s, dyd.data(), wd.data(), dx.data());
  conv2d_backward_weight_reference<double>(s, xd.data(), dyd.data(), dw.data());
  ConvResults one, two;
  with_threads(1, [&] { one = run_fast_conv(s, x, w, bias, dy); });
  with_threads(2, [&] { two = run_fast_conv(s, x, w, bias, dy); });
  INFO("N=", c.batch, " C=", c.channels, " H=", c.height, " W=", c.width, " F=", c.filters, " K=", c.kernel_h, "x",
       c.kernel_w, " stride=", c.stride, " pad=", c.padding);
  CHECK(relative_error(two.y, y) < 1e-5);
  CHECK(relative_error(two.dx, dx) < 1e-5);
  CHECK(relative_error(two.dw, dw) < 1e-5);
  CHECK(one.y == two.y);
  CHECK(one.dx == two.dx);
  CHECK(one.dw == two.dw);
}

}  // namespace

TEST_SUITE("kernels") {
  TEST_CASE("fast conv2d forward, backward-data and backward-weight match the reference") {
    Rng rng(21);
    const ConvCase cases[] = {
        {3, 5, 7, 9, 4, 3, 3, 1, 1},      // the basic odd case
        {2, 3, 11, 6, 7, 3, 3, 2, 1},     // stride 2, rectangular input
        {1, 4, 8, 8, 6, 1, 1, 1, 0},      // 1x1 fast path, one image
        {3, 6, 5, 7, 5, 1, 1, 1, 0},      // 1x1 with several images per chunk
        {2, 3, 6, 7, 17, 1, 1, 2, 0},     // 1x1 stride 2
        {2, 3, 9, 10, 4, 5, 5, 1, 2},     // 5x5, pad 2
        {2, 2, 13, 12, 3, 7, 7, 2, 3},    // 7x7 stride 2 pad 3
        {3, 5, 7, 9, 4, 3, 3, 2, 0},      // stride 2 no pad
        {2, 3, 7, 9, 5, 3, 1, 1, 1},      // rectangular kernel
        {2, 8, 40, 36, 6, 3, 3, 1, 1},    // images cut into several chunks
        {40, 6, 5, 6, 7, 3, 3, 1, 1},     // many small images grouped per chunk
        {2, 33, 9, 7, 30, 3, 3, 1, 1},    // K = 297 spans depth blocks, F spans tiles
        {1, 5, 3, 3, 30, 3, 3, 1, 1},     // one tiny image: threads split the filters
        {2, 9, 5, 5, 4, 1, 1, 1, 1},      // 1x1 with padding: no transposed-conv backward
        {2, 10, 6, 5, 3, 3, 1, 1, 1},     // rectangular kernel, many channels
        // Output rows a multiple of 16 wide: the GEMM reads the padded input in place.
        {2, 5, 16, 16, 6, 3, 3, 1, 1},    // 16 wide
        {2, 4, 5, 48, 5, 3, 3, 1, 1},     // 48 wide, a half-empty last panel per image
        {3, 2, 18, 18, 4, 3, 3, 1, 0},    // unpadded, 16 wide out
        {2, 9, 16, 32, 17, 3, 3, 1, 1},   // also the transposed-conv backward-data in place
    };
    for (const ConvCase& c : cases) check_fast_conv(c, rng);
  }

  TEST_CASE("fast conv2d refuses impossible shapes") {
    Conv2dShape s;
    s.in_height = 2;
    s.in_width = 2;
    s.kernel_h = s.kernel_w = 3;
    std::vector<float> buffer(64);
    CHECK_THROWS_AS(conv2d_forward(s, buffer.data(), buffer.data(), nullptr, buffer.data()), Error);
    s.padding = 1;
    s.stride = 0;
    CHECK_THROWS_AS(conv2d_backward_data(s, buffer.data(), buffer.data(), buffer.data()), Error);
  }
}
