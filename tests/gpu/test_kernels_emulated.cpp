// The batch-norm and pooling kernels' per-thread code (cuda/batchnorm_steps.cuh,
// cuda/pool_steps.cuh) run on the CPU, block by block and thread by thread as
// the launchers in cuda/*.cu arrange them, against the CPU reference. Only the
// warp/block sums around them are not emulated (a plain sum stands in). These
// run everywhere, also where no GPU is visible.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "batchnorm_steps.cuh"
#include "gpu_test_helpers.h"
#include "pool_steps.cuh"
#include "prunus/kernels/batchnorm.h"
#include "prunus/kernels/pool.h"

using namespace prunus;
using namespace prunus::cuda;
using namespace prunus_test;

namespace {

// ---------------------------------------------------------------- batch norm

struct Sums {
  double a = 0, b = 0;
};

// Step 1 of batchnorm.cu: one (chunk, channel) block of kBatchNormThreads threads.
template <int V, class ThreadSums>
std::vector<Sums> emulate_partials(const ChannelLayout& l, ThreadSums&& thread_sums) {
  std::vector<Sums> partials(size_t(l.channels) * l.chunks);
  for (int c = 0; c < l.channels; ++c)
    for (int chunk = 0; chunk < l.chunks; ++chunk) {
      Sums block;
      for (int tid = 0; tid < kBatchNormThreads; ++tid) {
        float a = NAN, b = NAN;
        thread_sums(c, chunk, tid, a, b);
        block.a += a;
        block.b += b;
      }
      partials[size_t(c) * l.chunks + chunk] = block;
    }
  return partials;
}

Sums channel_totals(const ChannelLayout& l, const std::vector<Sums>& partials, int c) {
  Sums t;
  for (int k = 0; k < l.chunks; ++k) {
    t.a += partials[size_t(c) * l.chunks + k].a;
    t.b += partials[size_t(c) * l.chunks + k].b;
  }
  return t;
}

template <int V>
void forward_train(const BatchNormShape& s, const float* x, const float* gamma, const float* beta, double eps,
                   double momentum, float* rm, float* rv, float* y, float* mean, float* inv) {
  const ChannelLayout l = channel_layout(s, V);
  const auto partials = emulate_partials<V>(l, [&](int c, int chunk, int tid, float& a, float& b) {
    forward_partial_sums<V>(l, x, c, chunk, tid, kBatchNormThreads, a, b);
  });
  std::vector<float> scale(size_t(l.channels), NAN);
  const ForwardFinalize f{x, gamma, eps, momentum, rm, rv, mean, inv, scale.data()};
  for (int c = 0; c < l.channels; ++c) {
    const Sums t = channel_totals(l, partials, c);
    forward_finalize_channel(l, s.per_channel(), t.a, t.b, c, f);
  }
  for (int u = 0; u < int(s.numel() / V); ++u) affine_unit<V>(l, u, x, mean, scale.data(), beta, y);
}

template <int V>
void forward_eval(const BatchNormShape& s, const float* x, const float* gamma, const float* beta, const float* rm,
                  const float* rv, double eps, float* y) {
  const ChannelLayout l = channel_layout(s, V);
  std::vector<float> scale(size_t(l.channels), NAN);
  for (int c = 0; c < l.channels; ++c) eval_scale_channel(gamma, rv, eps, scale.data(), c);
  for (int u = 0; u < int(s.numel() / V); ++u) affine_unit<V>(l, u, x, rm, scale.data(), beta, y);
}

template <int V>
void backward(const BatchNormShape& s, const float* x, const float* dy, const float* gamma, const float* mean,
              const float* inv, float* dx, float* dgamma, float* dbeta, bool train) {
  const ChannelLayout l = channel_layout(s, V);
  const auto partials = emulate_partials<V>(l, [&](int c, int chunk, int tid, float& a, float& b) {
    backward_partial_sums<V>(l, x, dy, mean, c, chunk, tid, kBatchNormThreads, a, b);
  });
  std::vector<float> coefficients(size_t(3) * l.channels, NAN);
  const BackwardFinalize f{gamma, inv, train, dgamma, dbeta, coefficients.data()};
  for (int c = 0; c < l.channels; ++c) {
    const Sums t = channel_totals(l, partials, c);
    backward_finalize_channel(l, s.per_channel(), t.a, t.b, c, f);
  }
  for (int u = 0; u < int(s.numel() / V); ++u) backward_apply_unit<V>(l, u, x, dy, mean, coefficients.data(), dx);
}

// As the launchers: V from the shape and the alignment of the arrays.
void check_batchnorm(const BatchNormShape& s, uint64_t seed, bool misalign, int expected_width) {
  INFO("shape [", s.batch, ", ", s.channels, ", ", s.spatial, "]", misalign ? " misaligned" : "");
  Rng rng(seed);
  const size_t n = size_t(s.numel()), c = size_t(s.channels), shift = misalign ? 1 : 0;
  std::vector<float> x_store(n + shift), dy_store(n + shift), y_store(n + shift, NAN), dx_store(n + shift, NAN);
  const std::vector<float> xv = random_values(n, rng, 2.0, 5.0), dyv = random_values(n, rng);
  std::copy(xv.begin(), xv.end(), x_store.begin() + shift);
  std::copy(dyv.begin(), dyv.end(), dy_store.begin() + shift);
  const float *x = x_store.data() + shift, *dy = dy_store.data() + shift;
  float *y = y_store.data() + shift, *dx = dx_store.data() + shift;
  const std::vector<float> gamma = random_values(c, rng, 0.5, 1.5), beta = random_values(c, rng);
  const std::vector<float> rm0 = random_values(c, rng), rv0 = random_values(c, rng, 0.5, 2.0);
  const double eps = 1e-5, momentum = 0.1;

  std::vector<double> rmd = to_double(rm0), rvd = to_double(rv0), y_ref(n), mean_ref(c), inv_ref(c), dx_ref(n);
  std::vector<double> dg_ref(c), db_ref(c), y_eval_ref(n);
  const std::vector<double> xd = to_double(xv), dyd = to_double(dyv), gd = to_double(gamma), bd = to_double(beta);
  kernels::batchnorm_forward_train_reference<double>(s, xd.data(), gd.data(), bd.data(), eps, momentum, rmd.data(),
                                                     rvd.data(), y_ref.data(), mean_ref.data(), inv_ref.data());
  kernels::batchnorm_backward_train_reference<double>(s, xd.data(), dyd.data(), gd.data(), mean_ref.data(),
                                                      inv_ref.data(), dx_ref.data(), dg_ref.data(), db_ref.data());
  const std::vector<double> rm0d = to_double(rm0), rv0d = to_double(rv0);
  kernels::batchnorm_forward_eval_reference<double>(s, xd.data(), gd.data(), bd.data(), rm0d.data(), rv0d.data(), eps,
                                                    y_eval_ref.data());

  const int forward_width = batchnorm_vector_width(s, {x, y});
  const int backward_width = batchnorm_vector_width(s, {x, dy, dx});
  CHECK(forward_width == expected_width);
  CHECK(backward_width == expected_width);
  std::vector<float> rm = rm0, rv = rv0, mean(c, NAN), inv(c, NAN), dg(c, NAN), db(c, NAN);
  if (forward_width == 4)
    forward_train<4>(s, x, gamma.data(), beta.data(), eps, momentum, rm.data(), rv.data(), y, mean.data(), inv.data());
  else
    forward_train<1>(s, x, gamma.data(), beta.data(), eps, momentum, rm.data(), rv.data(), y, mean.data(), inv.data());
  const std::vector<float> y_out(y, y + n);
  CHECK(relative_error(y_out, y_ref) < 1e-5);
  CHECK(relative_error(mean, mean_ref) < 1e-6);
  CHECK(relative_error(inv, inv_ref) < 1e-5);
  CHECK(relative_error(rm, rmd) < 1e-6);
  CHECK(relative_error(rv, rvd) < 1e-5);

  if (backward_width == 4)
    backward<4>(s, x, dy, gamma.data(), mean.data(), inv.data(), dx, dg.data(), db.data(), true);
  else
    backward<1>(s, x, dy, gamma.data(), mean.data(), inv.data(), dx, dg.data(), db.data(), true);
  CHECK(relative_error(std::vector<float>(dx, dx + n), dx_ref) < 1e-4);
  CHECK(relative_error(dg, dg_ref) < 1e-5);
  CHECK(relative_error(db, db_ref) < 1e-5);

  std::fill(y_store.begin(), y_store.end(), NAN);
  if (forward_width == 4)
    forward_eval<4>(s, x, gamma.data(), beta.data(), rm0.data(), rv0.data(), eps, y);
  else
    forward_eval<1>(s, x, gamma.data(), beta.data(), rm0.data(), rv0.data(), eps, y);
  CHECK(relative_error(std::vector<float>(y, y + n), y_eval_ref) < 1e-5);

  // Eval backward: statistics are the running ones.
  std::vector<double> inv_running(c), dx_eval_ref(n), dg_eval_ref(c), db_eval_ref(c);
  for (size_t k = 0; k < c; ++k) inv_running[k] = 1.0 / std::sqrt(rv0d[k] + eps);
  kernels::batchnorm_backward_eval_reference<double>(s, xd.data(), dyd.data(), gd.data(), rm0d.data(),
                                                     inv_running.data(), dx_eval_ref.data(), dg_eval_ref.data(),
                                                     db_eval_ref.data());
  const std::vector<float> inv_running_f(inv_running.begin(), inv_running.end());
  std::fill(dx_store.begin(), dx_store.end(), NAN);
  if (backward_width == 4)
    backward<4>(s, x, dy, gamma.data(), rm0.data(), inv_running_f.data(), dx, dg.data(), db.data(), false);
  else
    backward<1>(s, x, dy, gamma.data(), rm0.data(), inv_running_f.data(), dx, dg.data(), db.data(), false);
  CHECK(relative_error(std::vector<float>(dx, dx + n), dx_eval_ref) < 1e-5);
  CHECK(relative_error(dg, dg_eval_ref) < 1e-5);
  CHECK(relative_error(db, db_eval_ref) < 1e-5);
}

BatchNormShape bn_shape(int64_t n, int64_t c, int64_t spatial) {
  BatchNormShape s;
  s.batch = n;
  s.channels = c;
  s.spatial = spatial;
  return s;
}

// ------------------------------------------------------------------ pooling

Pool2dShape pool_shape(int n, int c, int h, int w, int kernel, int stride, int padding) {
  Pool2dShape s;
  s.batch = n;
  s.channels = c;
  s.in_height = h;
  s.in_width = w;
  s.kernel = kernel;
  s.stride = stride;
  s.padding = padding;
  return s;
}

void check_pool(const Pool2dShape& s, uint64_t seed) {
  INFO("pool k", s.kernel, " s", s.stride, " p", s.padding, " on ", s.in_height, "x", s.in_width);
  Rng rng(seed);
  const PoolDims d = pool_dims(s);
  const size_t in = size_t(d.planes * d.in_plane()), out = size_t(d.planes * d.out_plane());
  std::vector<float> x(in);
  for (float& v : x) v = float(rng.below(4));  // ties
  x[in / 2] = NAN;
  const std::vector<float> dy = random_values(out, rng);

  if (s.padding <= s.kernel / 2) {
    std::vector<float> y_ref(out), dx_ref(in), y(out, -1.0f), dx(in, -1.0f);
    std::vector<int32_t> argmax_ref(out), argmax(out, -1);
    kernels::maxpool2d_forward_reference<float>(s, x.data(), y_ref.data(), argmax_ref.data());
    kernels::maxpool2d_backward_reference<float>(s, dy.data(), argmax_ref.data(), dx_ref.data());
    for (int64_t e = 0; e < int64_t(out); ++e) maxpool_forward_element(d, e, x.data(), y.data(), argmax.data());
    for (int64_t e = 0; e < int64_t(in); ++e) maxpool_backward_element(d, e, dy.data(), argmax.data(), dx.data());
    CHECK(std::memcmp(y.data(), y_ref.data(), out * sizeof(float)) == 0);
    CHECK(argmax == argmax_ref);
    CHECK(std::memcmp(dx.data(), dx_ref.data(), in * sizeof(float)) == 0);
  }

  const std::vector<float> xr = random_values(in, rng);
  std::vector<double> ya_ref(out), dxa_ref(in);
  const std::vector<double> xrd = to_double(xr), dyd = to_double(dy);
  kernels::avgpool2d_forward_reference<double>(s, xrd.data(), ya_ref.data());
  kernels::avgpool2d_backward_reference<double>(s, dyd.data(), dxa_ref.data());
  std::vector<float> ya(out, NAN), dxa(in, NAN);
  for (int64_t e = 0; e < int64_t(out); ++e) avgpool_forward_element(d, e, xr.data(), ya.data());
  for (int64_t e = 0; e < int64_t(in); ++e) avgpool_backward_element(d, e, dy.data(), dxa.data());
  CHECK(relative_error(ya, ya_ref) < 1e-6);
  CHECK(relative_error(dxa, dxa_ref) < 1e-6);
}

}  // namespace

TEST_SUITE("emulated_kernels") {
  TEST_CASE("batch norm steps match the reference: float4 and scalar paths, several chunks") {
    check_batchnorm(bn_shape(3, 5, 63), 801, false, 1);
    check_batchnorm(bn_shape(4, 6, 64), 802, false, 4);
    check_batchnorm(bn_shape(4, 6, 64), 803, true, 1);
    check_batchnorm(bn_shape(7, 3, 1), 804, false, 1);
    check_batchnorm(bn_shape(17, 3, 1024), 805, false, 4);  // several chunks per channel
    CHECK(channel_layout(bn_shape(17, 3, 1024), 4).chunks > 1);
    check_batchnorm(bn_shape(33, 2, 999), 806, false, 1);  // several chunks, scalar
  }

  TEST_CASE("pooling steps match the reference (max exactly, ties and NaN included)") {
    check_pool(pool_shape(2, 3, 9, 11, 3, 2, 1), 811);
    check_pool(pool_shape(3, 5, 7, 9, 2, 2, 0), 812);
    check_pool(pool_shape(1, 2, 8, 8, 3, 1, 1), 813);
    check_pool(pool_shape(1, 2, 8, 8, 3, 1, 2), 814);  // average only: padding beyond half the kernel
    check_pool(pool_shape(2, 1, 5, 13, 4, 3, 2), 815);
  }

  TEST_CASE("global average pooling steps match the reference") {
    Rng rng(821);
    const int64_t planes = 6, size = 77;
    const std::vector<float> x = random_values(size_t(planes * size), rng), dy = random_values(size_t(planes), rng);
    std::vector<double> y_ref(planes), dx_ref(planes * size);
    const std::vector<double> xd = to_double(x), dyd = to_double(dy);
    kernels::global_avgpool_forward_reference<double>(planes, size, xd.data(), y_ref.data());
    kernels::global_avgpool_backward_reference<double>(planes, size, dyd.data(), dx_ref.data());
    std::vector<float> y(planes), dx(size_t(planes * size), NAN);
    for (int64_t p = 0; p < planes; ++p) {
      double sum = 0;
      for (int lane = 0; lane < 32; ++lane) sum += global_avgpool_lane_sum(size, x.data(), p, lane, 32);
      y[p] = float(sum / double(size));
    }
    for (int64_t e = 0; e < planes * size; ++e) global_avgpool_backward_element(size, e, dy.data(), dx.data());
    CHECK(relative_error(y, y_ref) < 1e-6);
    CHECK(relative_error(dx, dx_ref) < 1e-6);
  }
}
