// The cuDNN reference backend (built with CUDNN=1) against the CPU reference,
// so that the benchmark compares our kernels with something known to be right.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "gpu_test_helpers.h"
#include "prunus/cuda/cudnn_reference.h"
#include "prunus/kernels/batchnorm.h"
#include "prunus/kernels/conv2d.h"

using namespace prunus;
using namespace prunus_test;

TEST_SUITE("gpu_cudnn") {
  TEST_CASE("cuDNN convolutions match the reference") {
    if (!cuda::cudnn::built()) {
      MESSAGE("cuDNN reference backend not built (CUDNN=0): skipped");
      return;
    }
    Conv2dShape s;
    s.batch = 3, s.in_channels = 5, s.in_height = 9, s.in_width = 7, s.out_channels = 6;
    s.kernel_h = 3, s.kernel_w = 3, s.stride = 2, s.padding = 1;
    Rng rng(701);
    const size_t xs = size_t(s.batch) * s.in_channels * s.in_height * s.in_width;
    const size_t ws = size_t(s.out_channels) * s.in_channels * 9;
    const size_t ys = size_t(s.batch) * s.out_channels * s.out_height() * s.out_width();
    const std::vector<float> x = random_values(xs, rng), w = random_values(ws, rng), b = random_values(6, rng);
    const std::vector<float> dy = random_values(ys, rng);
    std::vector<double> y(ys), dx(xs), dw(ws);
    const std::vector<double> xd = to_double(x), wd = to_double(w), bd = to_double(b), dyd = to_double(dy);
    kernels::conv2d_forward_reference<double>(s, xd.data(), wd.data(), bd.data(), y.data());
    kernels::conv2d_backward_data_reference<double>(s, dyd.data(), wd.data(), dx.data());
    kernels::conv2d_backward_weight_reference<double>(s, xd.data(), dyd.data(), dw.data());
    DeviceBuffer<float> gx(x), gw(w), gb(b), gdy(dy), gy(ys), gdx(xs), gdw(ws);
    cuda::cudnn::conv2d_forward(s, gx.get(), gw.get(), gb.get(), poisoned(gy)->get());
    CHECK(relative_error(gy.download(), y) < 1e-5);
    cuda::cudnn::conv2d_backward_data(s, gdy.get(), gw.get(), poisoned(gdx)->get());
    CHECK(relative_error(gdx.download(), dx) < 1e-5);
    cuda::cudnn::conv2d_backward_weight(s, gx.get(), gdy.get(), poisoned(gdw)->get());
    CHECK(relative_error(gdw.download(), dw) < 1e-5);
    MESSAGE("cuDNN ", cuda::cudnn::version(), " algorithms: ", cuda::cudnn::conv2d_algorithms(s));
  }

  TEST_CASE("cuDNN batch norm matches the reference") {
    if (!cuda::cudnn::built()) {
      MESSAGE("cuDNN reference backend not built (CUDNN=0): skipped");
      return;
    }
    BatchNormShape s;
    s.batch = 5, s.channels = 3, s.spatial = 35;
    Rng rng(702);
    const size_t n = size_t(s.numel());
    const std::vector<float> x = random_values(n, rng, 1.0, 3.0), dy = random_values(n, rng);
    const std::vector<float> g = random_values(3, rng, 0.5, 1.5), b = random_values(3, rng);
    const std::vector<float> rm = random_values(3, rng), rv = random_values(3, rng, 0.5, 2.0);
    std::vector<double> rmd = to_double(rm), rvd = to_double(rv), y(n), mean(3), inv(3), dx(n), dg(3), db(3);
    const std::vector<double> xd = to_double(x), gd = to_double(g), bd = to_double(b), dyd = to_double(dy);
    kernels::batchnorm_forward_train_reference<double>(s, xd.data(), gd.data(), bd.data(), 1e-5, 0.1, rmd.data(),
                                                       rvd.data(), y.data(), mean.data(), inv.data());
    kernels::batchnorm_backward_train_reference<double>(s, xd.data(), dyd.data(), gd.data(), mean.data(), inv.data(),
                                                        dx.data(), dg.data(), db.data());
    DeviceBuffer<float> gx(x), gdy(dy), gg(g), gb(b), grm(rm), grv(rv), gy(n), gmean(3), ginv(3), gdx(n), gdg(3), gdb(3);
    cuda::cudnn::batchnorm_forward_train(s, gx.get(), gg.get(), gb.get(), 1e-5, 0.1, grm.get(), grv.get(),
                                         poisoned(gy)->get(), gmean.get(), ginv.get());
    CHECK(relative_error(gy.download(), y) < 1e-5);
    CHECK(relative_error(gmean.download(), mean) < 1e-5);
    CHECK(relative_error(ginv.download(), inv) < 1e-4);
    CHECK(relative_error(grm.download(), rmd) < 1e-5);
    CHECK(relative_error(grv.download(), rvd) < 1e-4);
    cuda::cudnn::batchnorm_backward_train(s, gx.get(), gdy.get(), gg.get(), gmean.get(), ginv.get(), 1e-5,
                                          poisoned(gdx)->get(), gdg.get(), gdb.get());
    CHECK(relative_error(gdx.download(), dx) < 1e-4);
    CHECK(relative_error(gdg.download(), dg) < 1e-4);
    CHECK(relative_error(gdb.download(), db) < 1e-5);
  }
}
