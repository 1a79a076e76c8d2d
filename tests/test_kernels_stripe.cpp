// Stripe-sparse convolution against the dense reference convolution with the
// removed stripes set to zero.
#include <doctest/doctest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "prunus/error.h"
#include "prunus/kernels/conv2d.h"
#include "prunus/kernels/stripe_conv.h"
#include "prunus/rng.h"

using namespace prunus;
using namespace prunus::kernels;

namespace {

std::vector<float> uniform_values(size_t count, Rng& rng) {
  std::vector<float> v(count);
  for (float& x : v) x = float(rng.uniform(-1.0, 1.0));
  return v;
}

double max_relative_error(const std::vector<float>& fast, const std::vector<double>& reference) {
  REQUIRE(fast.size() == reference.size());
  double worst = 0, scale = 0;
  for (size_t i = 0; i < fast.size(); ++i) {
    worst = std::max(worst, std::fabs(double(fast[i]) - reference[i]));
    scale = std::max(scale, std::fabs(reference[i]));
  }
  return scale > 0 ? worst / scale : worst;
}

struct StripeCase {
  int batch, channels, height, width, filters, kernel, stride, padding;
  double keep_probability;
};

// A random keep pattern in which filter 0 keeps nothing and kernel position
// (0, 0) is kept by no filter.
std::vector<uint8_t> random_keep(const StripeCase& c, Rng& rng) {
  std::vector<uint8_t> keep(size_t(c.filters) * c.kernel * c.kernel);
  for (size_t k = 0; k < keep.size(); ++k) keep[k] = rng.uniform() < c.keep_probability;
  for (int k = 0; k < c.kernel * c.kernel; ++k) keep[size_t(k)] = 0;
  for (int f = 0; f < c.filters; ++f) keep[size_t(f) * c.kernel * c.kernel] = 0;
  return keep;
}

// Each filter keeps one of `patterns` random position sets (some repeated
// many times, as pruned layers are): the forward pass groups such filters.
std::vector<uint8_t> few_patterns_keep(const StripeCase& c, int patterns, Rng& rng) {
  const int KK = c.kernel * c.kernel;
  std::vector<std::vector<uint8_t>> sets(static_cast<size_t>(patterns), std::vector<uint8_t>(static_cast<size_t>(KK)));
  for (auto& set : sets)
    for (uint8_t& k : set) k = rng.uniform() < c.keep_probability;
  std::vector<uint8_t> keep;
  for (int f = 0; f < c.filters; ++f) {
    const auto& set = sets[rng.below(uint64_t(patterns))];
    keep.insert(keep.end(), set.begin(), set.end());
  }
  for (int k = 0; k < KK; ++k) keep[size_t(k)] = 0;  // filter 0 keeps nothing
  return keep;
}

void check_stripe_case(const StripeCase& c, Rng& rng, const std::vector<uint8_t>& keep) {
  const StripeConvLayout layout = make_stripe_layout(c.channels, c.filters, c.kernel, c.stride, c.padding, keep);
  const Conv2dShape s = layout.shape(c.batch, c.height, c.width);
  const size_t x_size = size_t(c.batch) * c.channels * c.height * c.width;
  const size_t y_size = size_t(c.batch) * c.filters * s.out_height() * s.out_width();
  const size_t w_size = size_t(c.filters) * c.channels * c.kernel * c.kernel;
  const std::vector<float> x = uniform_values(x_size, rng), dy = uniform_values(y_size, rng);
  const std::vector<float> bias = uniform_values(size_t(c.filters), rng);
  std::vector<float> compact = uniform_values(size_t(layout.compact_weight_size()), rng);
  std::vector<float> dense(w_size);
  expand_stripe_weight(layout, compact.data(), dense.data());

  const std::vector<double> xd(x.begin(), x.end()), dyd(dy.begin(), dy.end()), wd(dense.begin(), dense.end()),
      bd(bias.begin(), bias.end());
  std::vector<double> y_ref(y_size), dx_ref(x_size), dw_ref(w_size);
  conv2d_forward_reference<double>(s, xd.data(), wd.data(), bd.data(), y_ref.data());
  conv2d_backward_data_reference<double>(s, dyd.data(), wd.data(), dx_ref.data());
  conv2d_backward_weight_reference<double>(s, xd.data(), dyd.data(), dw_ref.data());
  // The reference weight gradient restricted to the kept stripes.
  std::vector<float> dw_ref_f(dw_ref.begin(), dw_ref.end()), dw_ref_compact(compact.size());
  compact_stripe_weight(layout, dw_ref_f.data(), dw_ref_compact.data());
  std::vector<double> dw_expected(dw_ref_compact.begin(), dw_ref_compact.end());

  std::vector<float> y(y_size, 5.0f), dx(x_size, 5.0f), dw(compact.size(), 5.0f);
  stripe_conv2d_forward(layout, c.batch, c.height, c.width, x.data(), compact.data(), bias.data(), y.data());
  stripe_conv2d_backward_data(layout, c.batch, c.height, c.width, dy.data(), compact.data(), dx.data());
  stripe_conv2d_backward_weight(layout, c.batch, c.height, c.width, x.data(), dy.data(), dw.data());
  INFO("N=", c.batch, " C=", c.channels, " H=", c.height, " W=", c.width, " F=", c.filters, " K=", c.kernel,
       " stride=", c.stride, " pad=", c.padding, " kept stripes=", layout.kept_stripes());
  CHECK(max_relative_error(y, y_ref) < 1e-5);
  CHECK(max_relative_error(dx, dx_ref) < 1e-5);
  CHECK(max_relative_error(dw, dw_expected) < 1e-5);
  // Filter 0 keeps no stripe: its output is its bias.
  for (int n = 0; n < c.batch; ++n)
    CHECK(y[size_t(n) * c.filters * s.out_height() * s.out_width()] == bias[0]);
}

void check_stripe_case(const StripeCase& c, Rng& rng) { check_stripe_case(c, rng, random_keep(c, rng)); }

}  // namespace

TEST_SUITE("kernels") {
  TEST_CASE("stripe conv forward, backward-data and backward-weight match the dense reference") {
    Rng rng(31);
    const StripeCase cases[] = {
        {3, 5, 7, 9, 6, 3, 1, 1, 0.5},    // the basic odd case
        {2, 4, 11, 6, 7, 3, 2, 1, 0.4},   // stride 2, rectangular input
        {2, 3, 9, 10, 5, 5, 1, 2, 0.3},   // 5x5, pad 2
        {2, 17, 8, 8, 20, 3, 1, 1, 0.7},  // more than one panel of channels, several tiles of filters
        {30, 6, 5, 6, 4, 3, 1, 0, 0.6},   // many small images grouped per chunk, no padding
        {2, 3, 6, 7, 5, 1, 1, 0, 0.8},    // 1x1 kernel
    };
    for (const StripeCase& c : cases) check_stripe_case(c, rng);
  }

  TEST_CASE("stripe conv forward with filters sharing a few position sets (grouped GEMMs), cached plans") {
    Rng rng(33);
    // Same sizes, different layouts one after another: a cached plan must never serve another layout.
    for (int patterns : {1, 2, 3, 5, 40}) {
      check_stripe_case({2, 7, 9, 8, 41, 3, 1, 1, 0.5}, rng, few_patterns_keep({2, 7, 9, 8, 41, 3, 1, 1, 0.5}, patterns, rng));
      check_stripe_case({2, 5, 9, 8, 29, 3, 2, 1, 0.4}, rng, few_patterns_keep({2, 5, 9, 8, 29, 3, 2, 1, 0.4}, patterns, rng));
    }
  }

  TEST_CASE("stripe forward cost model: shared positions are cheap, scattered ones cost as much as dense") {
    const int F = 32, C = 16, K = 3;
    std::vector<uint8_t> all(size_t(F) * K * K, 1), shared = all, scattered = all;
    Rng rng(34);
    for (int f = 0; f < F; ++f)
      for (int k = 0; k < K * K; ++k) {
        if (k != 4 && k != 1 && k != 7) shared[size_t(f) * K * K + k] = 0;  // every filter keeps the middle column
        if (rng.uniform() < 0.25) scattered[size_t(f) * K * K + k] = 0;    // about a quarter, a random set per filter
      }
    for (int stride : {1, 2}) {
      CHECK(stripe_forward_relative_cost(make_stripe_layout(C, F, K, stride, 1, all)) == doctest::Approx(1.0));
      CHECK(stripe_forward_relative_cost(make_stripe_layout(C, F, K, stride, 1, shared)) ==
            doctest::Approx(3.0 / 9.0));
      const double cost = stripe_forward_relative_cost(make_stripe_layout(C, F, K, stride, 1, scattered));
      CHECK(cost > 0.85);
      CHECK(cost <= 1.0);
    }
  }

  TEST_CASE("stripe conv gives the same results with 1 and 2 threads") {
    Rng rng(32);
    const StripeCase c{4, 6, 9, 9, 8, 3, 1, 1, 0.5};
    const StripeConvLayout layout = make_stripe_layout(c.channels, c.filters, 3, 1, 1, random_keep(c, rng));
    const std::vector<float> x = uniform_values(size_t(4) * 6 * 81, rng), dy = uniform_values(size_t(4) * 8 * 81, rng);
    const std::vector<float> w = uniform_values(size_t(layout.compact_weight_size()), rng);
    std::vector<float> results[2];
    for (int threads = 1; threads <= 2; ++threads) {
      const int old = omp_get_max_threads();
      omp_set_num_threads(threads);
      std::vector<float> y(dy.size()), dx(x.size()), dw(w.size());
      stripe_conv2d_forward(layout, 4, 9, 9, x.data(), w.data(), nullptr, y.data());
      stripe_conv2d_backward_data(layout, 4, 9, 9, dy.data(), w.data(), dx.data());
      stripe_conv2d_backward_weight(layout, 4, 9, 9, x.data(), dy.data(), dw.data());
      omp_set_num_threads(old);
      results[threads - 1] = y;
      results[threads - 1].insert(results[threads - 1].end(), dx.begin(), dx.end());
      results[threads - 1].insert(results[threads - 1].end(), dw.begin(), dw.end());
    }
    CHECK(results[0] == results[1]);
  }

  TEST_CASE("stripe layouts: built from a mask, compact/expand round trip, inconsistent layouts refused") {
    // F=2, C=2, K=2: filter 0 keeps (0,1) through channel 1 only; filter 1 keeps (0,0) and (1,1).
    std::vector<float> mask(2 * 2 * 4, 0.0f);
    mask[(0 * 2 + 1) * 4 + 1] = 1;  // f0 c1 (0,1)
    mask[(1 * 2 + 0) * 4 + 0] = 1;  // f1 c0 (0,0)
    mask[(1 * 2 + 1) * 4 + 3] = 1;  // f1 c1 (1,1)
    const StripeConvLayout layout = stripe_layout_from_mask(2, 2, 2, 1, 0, mask.data());
    REQUIRE(layout.positions.size() == 3);
    CHECK(layout.positions[0].i == 0);
    CHECK(layout.positions[0].j == 0);
    CHECK(layout.positions[0].filters == std::vector<int>{1});
    CHECK(layout.positions[1].filters == std::vector<int>{0});
    CHECK(layout.positions[2].filters == std::vector<int>{1});
    CHECK(layout.kept_stripes() == 3);
    CHECK(layout.compact_weight_size() == 6);
    CHECK(layout.block_offset(2) == 4);
    std::vector<float> dense(16);
    for (size_t k = 0; k < dense.size(); ++k) dense[k] = float(k + 1);
    std::vector<float> compact(6), back(16);
    compact_stripe_weight(layout, dense.data(), compact.data());
    // position (0,0), filter 1: channels 0,1 -> dense[(1*2+c)*4 + 0]
    CHECK(compact == std::vector<float>{9, 13, 2, 6, 12, 16});
    expand_stripe_weight(layout, compact.data(), back.data());
    for (size_t k = 0; k < dense.size(); ++k) {
      const bool kept = back[k] != 0.0f;
      CHECK((kept ? back[k] == dense[k] : true));
    }
    CHECK(std::count(back.begin(), back.end(), 0.0f) == 10);

    StripeConvLayout bad = layout;
    bad.positions[0].filters = {1, 1};
    CHECK_THROWS_AS(check_stripe_layout(bad), Error);
    bad = layout;
    bad.positions[1].i = 2;
    CHECK_THROWS_AS(check_stripe_layout(bad), Error);
    bad = layout;
    bad.positions[2].filters = {5};
    CHECK_THROWS_AS(check_stripe_layout(bad), Error);
    bad = layout;
    bad.positions[2].i = bad.positions[2].j = 0;
    CHECK_THROWS_AS(check_stripe_layout(bad), Error);
    CHECK_THROWS_AS(make_stripe_layout(2, 2, 2, 1, 0, std::vector<uint8_t>(7, 1)), Error);
    std::vector<float> buffer(256);
    CHECK_THROWS_AS(stripe_conv2d_forward(layout, 1, 1, 1, buffer.data(), buffer.data(), nullptr, buffer.data()),
                    Error);
  }
}
