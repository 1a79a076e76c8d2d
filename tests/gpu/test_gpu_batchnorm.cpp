// CUDA batch norm against the CPU reference (double): training forward with
// running statistics, eval forward, both backward passes; the float4 and the
// scalar paths, several chunks per channel, and run-to-run determinism.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "gpu_test_helpers.h"
#include "prunus/cuda/kernels.h"
#include "prunus/kernels/batchnorm.h"

using namespace prunus;
using namespace prunus_test;

namespace {

BatchNormShape bn_shape(int64_t n, int64_t c, int64_t spatial) {
  BatchNormShape s;
  s.batch = n;
  s.channels = c;
  s.spatial = spatial;
  return s;
}

struct BnData {
  std::vector<float> x, gamma, beta, running_mean, running_var, dy;
};

BnData make_data(const BatchNormShape& s, Rng& rng) {
  BnData d;
  d.x = random_values(size_t(s.numel()), rng, 2.0, 5.0);  // |mean| > std: the shifted sums matter
  d.gamma = random_values(size_t(s.channels), rng, 0.5, 1.5);
  d.beta = random_values(size_t(s.channels), rng);
  d.running_mean = random_values(size_t(s.channels), rng);
  d.running_var = random_values(size_t(s.channels), rng, 0.5, 2.0);
  d.dy = random_values(size_t(s.numel()), rng);
  return d;
}

// Device copies of x and y may start one float past an aligned address, to
// force the scalar path where the float4 one would otherwise be taken.
void check_shape(const BatchNormShape& s, uint64_t seed, bool misalign) {
  INFO("shape [", s.batch, ", ", s.channels, ", ", s.spatial, "]", misalign ? " misaligned" : "");
  Rng rng(seed);
  const BnData d = make_data(s, rng);
  const double eps = 1e-5, momentum = 0.1;
  const size_t n = size_t(s.numel()), c = size_t(s.channels), shift = misalign ? 1 : 0;

  // Reference.
  std::vector<double> rm = to_double(d.running_mean), rv = to_double(d.running_var);
  std::vector<double> y_ref(n), mean_ref(c), inv_ref(c), y_eval_ref(n), dx_ref(n), dg_ref(c), db_ref(c);
  std::vector<double> dx_eval_ref(n), dg_eval_ref(c), db_eval_ref(c);
  const std::vector<double> x = to_double(d.x), g = to_double(d.gamma), b = to_double(d.beta), dy = to_double(d.dy);
  kernels::batchnorm_forward_train_reference<double>(s, x.data(), g.data(), b.data(), eps, momentum, rm.data(),
                                                     rv.data(), y_ref.data(), mean_ref.data(), inv_ref.data());
  kernels::batchnorm_backward_train_reference<double>(s, x.data(), dy.data(), g.data(), mean_ref.data(),
                                                      inv_ref.data(), dx_ref.data(), dg_ref.data(), db_ref.data());
  const std::vector<double> rm0 = to_double(d.running_mean), rv0 = to_double(d.running_var);
  kernels::batchnorm_forward_eval_reference<double>(s, x.data(), g.data(), b.data(), rm0.data(), rv0.data(), eps,
                                                    y_eval_ref.data());
  std::vector<double> inv_running(c);
  for (size_t k = 0; k < c; ++k) inv_running[k] = 1.0 / std::sqrt(rv0[k] + eps);
  kernels::batchnorm_backward_eval_reference<double>(s, x.data(), dy.data(), g.data(), rm0.data(), inv_running.data(),
                                                     dx_eval_ref.data(), dg_eval_ref.data(), db_eval_ref.data());

  // GPU.
  std::vector<float> x_padded(n + shift, 0.0f), dy_padded(n + shift, 0.0f);
  std::copy(d.x.begin(), d.x.end(), x_padded.begin() + shift);
  std::copy(d.dy.begin(), d.dy.end(), dy_padded.begin() + shift);
  DeviceBuffer<float> gx(x_padded), gdy(dy_padded), gy(n + shift), gdx(n + shift);
  DeviceBuffer<float> gg(d.gamma), gb(d.beta), grm(d.running_mean), grv(d.running_var);
  DeviceBuffer<float> gmean(c), ginv(c), gdg(c), gdb(c);
  float* xp = gx.get() + shift;
  float* yp = poisoned(gy)->get() + shift;
  float* dyp = gdy.get() + shift;
  float* dxp = poisoned(gdx)->get() + shift;
  auto unshifted = [&](const DeviceBuffer<float>& buffer) {
    std::vector<float> all = buffer.download();
    return std::vector<float>(all.begin() + shift, all.end());
  };

  cuda::batchnorm_forward_train(s, xp, gg.get(), gb.get(), eps, momentum, grm.get(), grv.get(), yp,
                                poisoned(gmean)->get(), poisoned(ginv)->get());
  const std::vector<float> y_train = unshifted(gy);
  CHECK(relative_error(y_train, y_ref) < 1e-5);
  CHECK(relative_error(gmean.download(), mean_ref) < 1e-6);
  CHECK(relative_error(ginv.download(), inv_ref) < 1e-5);
  CHECK(relative_error(grm.download(), rm) < 1e-6);
  CHECK(relative_error(grv.download(), rv) < 1e-5);

  cuda::batchnorm_backward_train(s, xp, dyp, gg.get(), gmean.get(), ginv.get(), dxp, poisoned(gdg)->get(),
                                 poisoned(gdb)->get());
  const std::vector<float> dx_train = unshifted(gdx);
  CHECK(relative_error(dx_train, dx_ref) < 1e-4);
  CHECK(relative_error(gdg.download(), dg_ref) < 1e-5);
  CHECK(relative_error(gdb.download(), db_ref) < 1e-5);

  // Determinism: the same inputs again give the same bits.
  DeviceBuffer<float> grm2(d.running_mean), grv2(d.running_var);
  cuda::batchnorm_forward_train(s, xp, gg.get(), gb.get(), eps, momentum, grm2.get(), grv2.get(), yp, gmean.get(),
                                ginv.get());
  cuda::batchnorm_backward_train(s, xp, dyp, gg.get(), gmean.get(), ginv.get(), dxp, gdg.get(), gdb.get());
  CHECK(std::memcmp(unshifted(gy).data(), y_train.data(), n * sizeof(float)) == 0);
  CHECK(std::memcmp(unshifted(gdx).data(), dx_train.data(), n * sizeof(float)) == 0);

  DeviceBuffer<float> grm0(d.running_mean), grv0(d.running_var);
  cuda::batchnorm_forward_eval(s, xp, gg.get(), gb.get(), grm0.get(), grv0.get(), eps, poisoned(gy)->get() + shift);
  CHECK(relative_error(unshifted(gy), y_eval_ref) < 1e-5);

  std::vector<float> inv_running_f(inv_running.begin(), inv_running.end());
  DeviceBuffer<float> ginv_running(inv_running_f);
  cuda::batchnorm_backward_eval(s, xp, dyp, gg.get(), grm0.get(), ginv_running.get(), poisoned(gdx)->get() + shift,
                                poisoned(gdg)->get(), poisoned(gdb)->get());
  CHECK(relative_error(unshifted(gdx), dx_eval_ref) < 1e-5);
  CHECK(relative_error(gdg.download(), dg_eval_ref) < 1e-5);
  CHECK(relative_error(gdb.download(), db_eval_ref) < 1e-5);
}

}  // namespace

TEST_SUITE("gpu_batchnorm") {
  TEST_CASE("matches the reference: scalar and float4 paths, BatchNorm1d, several chunks") {
    check_shape(bn_shape(3, 5, 63), 201, false);     // spatial not a multiple of 4: scalar
    check_shape(bn_shape(4, 6, 64), 202, false);     // float4
    check_shape(bn_shape(4, 6, 64), 203, true);      // misaligned: scalar
    check_shape(bn_shape(7, 3, 1), 204, false);      // BatchNorm1d
    check_shape(bn_shape(17, 3, 1024), 205, false);  // 17408 values per channel: several chunks
    check_shape(bn_shape(5, 9, 9), 206, false);
  }

  TEST_CASE("bad shapes throw") {
    DeviceBuffer<float> buffer(64);
    float* p = buffer.get();
    CHECK_THROWS_AS(cuda::batchnorm_forward_train(bn_shape(0, 2, 2), p, p, p, 1e-5, 0.1, nullptr, nullptr, p, p, p),
                    Error);
    CHECK_THROWS_AS(cuda::batchnorm_forward_train(bn_shape(2, 2, 2), p, p, p, 1e-5, 0.1, p, nullptr, p, p, p), Error);
  }
}
