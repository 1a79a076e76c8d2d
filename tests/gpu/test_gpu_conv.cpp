// Every CUDA convolution version against the CPU reference (double) on odd
// shapes, forward with and without bias, backward data and weight; each
// version against v1 on a larger shape that uses several tiles and split-K.
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "gpu_test_helpers.h"
#include "prunus/cuda/kernels.h"
#include "prunus/kernels/conv2d.h"

using namespace prunus;
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

size_t x_size(const Conv2dShape& s) { return size_t(s.batch) * s.in_channels * s.in_height * s.in_width; }
size_t w_size(const Conv2dShape& s) { return size_t(s.out_channels) * s.in_channels * s.kernel_h * s.kernel_w; }
size_t y_size(const Conv2dShape& s) { return size_t(s.batch) * s.out_channels * s.out_height() * s.out_width(); }

struct GpuConvResults {
  std::vector<float> y, y_no_bias, dx, dw;
};

GpuConvResults run_gpu(const Conv2dShape& s, int version, const std::vector<float>& x, const std::vector<float>& w,
                       const std::vector<float>& bias, const std::vector<float>& dy) {
  DeviceBuffer<float> dx_in(x), dw_in(w), dbias(bias), ddy(dy);
  DeviceBuffer<float> y(y_size(s)), dx(x_size(s)), dw(w_size(s));
  GpuConvResults r;
  cuda::conv2d_forward(s, dx_in.get(), dw_in.get(), dbias.get(), poisoned(y)->get(), version);
  r.y = y.download();
  cuda::conv2d_forward(s, dx_in.get(), dw_in.get(), nullptr, poisoned(y)->get(), version);
  r.y_no_bias = y.download();
  cuda::conv2d_backward_data(s, ddy.get(), dw_in.get(), poisoned(dx)->get(), version);
  r.dx = dx.download();
  cuda::conv2d_backward_weight(s, dx_in.get(), ddy.get(), poisoned(dw)->get(), version);
  r.dw = dw.download();
  return r;
}

void check_against_reference(const Conv2dShape& s, uint64_t seed) {
  Rng rng(seed);
  const std::vector<float> x = random_values(x_size(s), rng), w = random_values(w_size(s), rng);
  const std::vector<float> bias = random_values(s.out_channels, rng), dy = random_values(y_size(s), rng);
  std::vector<double> y(y_size(s)), y_no_bias(y_size(s)), dx(x_size(s)), dw(w_size(s));
  const std::vector<double> xd = to_double(x), wd = to_double(w), bd = to_double(bias), dyd = to_double(dy);
  kernels::conv2d_forward_reference<double>(s, xd.data(), wd.data(), bd.data(), y.data());
  kernels::conv2d_forward_reference<double>(s, xd.data(), wd.data(), nullptr, y_no_bias.data());
  kernels::conv2d_backward_data_reference<double>(s, dyd.data(), wd.data(), dx.data());
  kernels::conv2d_backward_weight_reference<double>(s, xd.data(), dyd.data(), dw.data());
  for (int version = 1; version <= cuda::kConvVersionCount; ++version) {
    INFO(cuda::conv_version_name(version), " on N", s.batch, " C", s.in_channels, " ", s.in_height, "x", s.in_width,
         " F", s.out_channels, " k", s.kernel_h, "x", s.kernel_w, " s", s.stride, " p", s.padding);
    const GpuConvResults r = run_gpu(s, version, x, w, bias, dy);
    CHECK(relative_error(r.y, y) < 1e-5);
    CHECK(relative_error(r.y_no_bias, y_no_bias) < 1e-5);
    CHECK(relative_error(r.dx, dx) < 1e-5);
    CHECK(relative_error(r.dw, dw) < 1e-5);
  }
}

}  // namespace

TEST_SUITE("gpu_conv") {
  TEST_CASE("every version matches the reference on odd shapes") {
    check_against_reference(conv_shape(3, 5, 7, 9, 4, 3, 3, 1, 1), 101);
    check_against_reference(conv_shape(2, 3, 9, 7, 6, 3, 3, 2, 1), 102);    // stride 2
    check_against_reference(conv_shape(2, 7, 6, 5, 5, 1, 1, 1, 0), 103);    // 1x1
    check_against_reference(conv_shape(1, 4, 11, 10, 3, 5, 5, 2, 2), 104);  // 5x5
    check_against_reference(conv_shape(2, 3, 8, 9, 5, 3, 1, 1, 0), 105);    // 3x1
    check_against_reference(conv_shape(2, 19, 13, 11, 21, 3, 3, 1, 1), 106);
    check_against_reference(conv_shape(1, 70, 5, 7, 67, 3, 3, 2, 1), 107);  // 128-wide v3 tile
  }

  TEST_CASE("versions 2 and 3 match v1 on a shape with many tiles and a long reduction") {
    const Conv2dShape s = conv_shape(9, 17, 19, 21, 35, 3, 3, 1, 1);
    Rng rng(108);
    const std::vector<float> x = random_values(x_size(s), rng), w = random_values(w_size(s), rng);
    const std::vector<float> bias = random_values(s.out_channels, rng), dy = random_values(y_size(s), rng);
    const GpuConvResults naive = run_gpu(s, cuda::kConvNaive, x, w, bias, dy);
    for (int version : {cuda::kConvTiled, cuda::kConvRegisterTiled}) {
      INFO(cuda::conv_version_name(version));
      const GpuConvResults r = run_gpu(s, version, x, w, bias, dy);
      CHECK(relative_error(r.y, naive.y) < 1e-5);
      CHECK(relative_error(r.dx, naive.dx) < 1e-5);
      CHECK(relative_error(r.dw, naive.dw) < 1e-5);
    }
  }

  TEST_CASE("results are bit-identical from run to run (split-K is deterministic)") {
    const Conv2dShape s = conv_shape(16, 16, 16, 16, 16, 3, 3, 1, 1);  // backward weight splits its long K
    Rng rng(109);
    const std::vector<float> x = random_values(x_size(s), rng), w = random_values(w_size(s), rng);
    const std::vector<float> bias = random_values(s.out_channels, rng), dy = random_values(y_size(s), rng);
    const GpuConvResults a = run_gpu(s, cuda::kConvRegisterTiled, x, w, bias, dy);
    const GpuConvResults b = run_gpu(s, cuda::kConvRegisterTiled, x, w, bias, dy);
    CHECK(std::memcmp(a.dw.data(), b.dw.data(), a.dw.size() * sizeof(float)) == 0);
    CHECK(std::memcmp(a.y.data(), b.y.data(), a.y.size() * sizeof(float)) == 0);
  }

  TEST_CASE("bad arguments throw with the op's name") {
    DeviceBuffer<float> buffer(1000);
    Conv2dShape s = conv_shape(1, 2, 5, 5, 3, 3, 3, 1, 1);
    CHECK_THROWS_AS(cuda::conv2d_forward(s, buffer.get(), buffer.get(), nullptr, buffer.get(), 4), Error);
    s.padding = -1;
    try {
      cuda::conv2d_backward_data(s, buffer.get(), buffer.get(), buffer.get());
      FAIL("negative padding did not throw");
    } catch (const Error& e) {
      CHECK(std::string(e.what()).find("conv2d_backward_data") != std::string::npos);
    }
  }
}
