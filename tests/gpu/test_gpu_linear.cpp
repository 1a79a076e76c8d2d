// The cuBLAS linear layer (row-major y = x w^T + b) against gemm_reference.
#include <doctest/doctest.h>

#include <vector>

#include "gpu_test_helpers.h"
#include "prunus/cuda/kernels.h"
#include "prunus/kernels/gemm.h"

using namespace prunus;
using namespace prunus_test;

TEST_SUITE("gpu_linear") {
  TEST_CASE("forward, backward data, weight and bias match the reference") {
    Rng rng(601);
    const int N = 13, in = 37, out = 11;
    const std::vector<float> x = random_values(size_t(N) * in, rng), w = random_values(size_t(out) * in, rng);
    const std::vector<float> bias = random_values(out, rng), dy = random_values(size_t(N) * out, rng);
    const std::vector<double> xd = to_double(x), wd = to_double(w), dyd = to_double(dy);
    std::vector<double> y(size_t(N) * out), dx(size_t(N) * in), dw(size_t(out) * in), db(out, 0.0);
    kernels::gemm_reference<double>(false, true, N, out, in, 1.0, xd.data(), in, wd.data(), in, 0.0, y.data(), out);
    for (int n = 0; n < N; ++n)
      for (int o = 0; o < out; ++o) y[size_t(n) * out + o] += bias[o];
    kernels::gemm_reference<double>(false, false, N, in, out, 1.0, dyd.data(), out, wd.data(), in, 0.0, dx.data(), in);
    kernels::gemm_reference<double>(true, false, out, in, N, 1.0, dyd.data(), out, xd.data(), in, 0.0, dw.data(), in);
    for (int n = 0; n < N; ++n)
      for (int o = 0; o < out; ++o) db[o] += dy[size_t(n) * out + o];

    DeviceBuffer<float> gx(x), gw(w), gb(bias), gdy(dy), gy(y.size()), gdx(dx.size()), gdw(dw.size()), gdb(db.size());
    cuda::linear_forward(N, in, out, gx.get(), gw.get(), gb.get(), poisoned(gy)->get());
    CHECK(relative_error(gy.download(), y) < 1e-5);
    cuda::linear_backward_data(N, in, out, gdy.get(), gw.get(), poisoned(gdx)->get());
    CHECK(relative_error(gdx.download(), dx) < 1e-5);
    cuda::linear_backward_weight(N, in, out, gx.get(), gdy.get(), poisoned(gdw)->get());
    CHECK(relative_error(gdw.download(), dw) < 1e-5);
    cuda::linear_backward_bias(N, out, gdy.get(), poisoned(gdb)->get());
    CHECK(relative_error(gdb.download(), db) < 1e-6);
  }
}
