// CUDA pooling against the CPU reference. Max pooling must agree exactly
// (values, argmax with ties and NaN, and the gathered backward sums, which
// add in the reference's order); average pooling to rounding.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "gpu_test_helpers.h"
#include "prunus/cuda/kernels.h"
#include "prunus/kernels/pool.h"

using namespace prunus;
using namespace prunus_test;

namespace {

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

size_t in_size(const Pool2dShape& s) { return size_t(s.planes()) * s.in_height * s.in_width; }
size_t out_size(const Pool2dShape& s) { return size_t(s.planes()) * s.out_height() * s.out_width(); }

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

void check_max(const Pool2dShape& s, uint64_t seed) {
  INFO("max pool k", s.kernel, " s", s.stride, " p", s.padding, " on ", s.in_height, "x", s.in_width);
  Rng rng(seed);
  std::vector<float> x(in_size(s));
  for (float& v : x) v = float(rng.below(4));  // small integers: many ties
  x[x.size() / 3] = std::nanf("");
  const std::vector<float> dy = random_values(out_size(s), rng);
  std::vector<float> y_ref(out_size(s)), dx_ref(in_size(s));
  std::vector<int32_t> argmax_ref(out_size(s));
  kernels::maxpool2d_forward_reference<float>(s, x.data(), y_ref.data(), argmax_ref.data());
  kernels::maxpool2d_backward_reference<float>(s, dy.data(), argmax_ref.data(), dx_ref.data());

  DeviceBuffer<float> gx(x), gy(out_size(s)), gdy(dy), gdx(in_size(s));
  DeviceBuffer<int32_t> gargmax(std::vector<int32_t>(out_size(s), -7));
  cuda::maxpool2d_forward(s, gx.get(), poisoned(gy)->get(), gargmax.get());
  CHECK(same_bits(gy.download(), y_ref));
  CHECK(gargmax.download() == argmax_ref);
  cuda::maxpool2d_backward(s, gdy.get(), gargmax.get(), poisoned(gdx)->get());
  CHECK(same_bits(gdx.download(), dx_ref));
}

void check_avg(const Pool2dShape& s, uint64_t seed) {
  INFO("avg pool k", s.kernel, " s", s.stride, " p", s.padding, " on ", s.in_height, "x", s.in_width);
  Rng rng(seed);
  const std::vector<float> x = random_values(in_size(s), rng), dy = random_values(out_size(s), rng);
  std::vector<double> y_ref(out_size(s)), dx_ref(in_size(s));
  const std::vector<double> xd = to_double(x), dyd = to_double(dy);
  kernels::avgpool2d_forward_reference<double>(s, xd.data(), y_ref.data());
  kernels::avgpool2d_backward_reference<double>(s, dyd.data(), dx_ref.data());
  DeviceBuffer<float> gx(x), gy(out_size(s)), gdy(dy), gdx(in_size(s));
  cuda::avgpool2d_forward(s, gx.get(), poisoned(gy)->get());
  CHECK(relative_error(gy.download(), y_ref) < 1e-6);
  cuda::avgpool2d_backward(s, gdy.get(), poisoned(gdx)->get());
  CHECK(relative_error(gdx.download(), dx_ref) < 1e-6);
}

}  // namespace

TEST_SUITE("gpu_pool") {
  TEST_CASE("max pooling matches the reference exactly, ties and NaN included") {
    check_max(pool_shape(2, 3, 9, 11, 3, 2, 1), 301);
    check_max(pool_shape(3, 5, 7, 9, 2, 2, 0), 302);  // VGG's 2x2, odd input: the last row/column is dropped
    check_max(pool_shape(1, 2, 8, 8, 3, 1, 1), 303);  // overlapping windows: backward sums several outputs
  }

  TEST_CASE("average pooling matches the reference") {
    check_avg(pool_shape(2, 3, 9, 11, 3, 2, 1), 311);
    check_avg(pool_shape(3, 5, 7, 9, 2, 2, 0), 312);
    check_avg(pool_shape(1, 2, 8, 8, 3, 1, 2), 313);  // padding beyond half the kernel is fine for averages
  }

  TEST_CASE("global average pooling matches the reference") {
    Rng rng(321);
    const int64_t planes = 15, plane_size = 49;
    const std::vector<float> x = random_values(size_t(planes * plane_size), rng), dy = random_values(planes, rng);
    std::vector<double> y_ref(planes), dx_ref(planes * plane_size);
    const std::vector<double> xd = to_double(x), dyd = to_double(dy);
    kernels::global_avgpool_forward_reference<double>(planes, plane_size, xd.data(), y_ref.data());
    kernels::global_avgpool_backward_reference<double>(planes, plane_size, dyd.data(), dx_ref.data());
    DeviceBuffer<float> gx(x), gy(planes), gdy(dy), gdx(x.size());
    cuda::global_avgpool_forward(planes, plane_size, gx.get(), poisoned(gy)->get());
    CHECK(relative_error(gy.download(), y_ref) < 1e-6);
    cuda::global_avgpool_backward(planes, plane_size, gdy.get(), poisoned(gdx)->get());
    CHECK(relative_error(gdx.download(), dx_ref) < 1e-6);
  }

  TEST_CASE("bad pooling shapes throw") {
    DeviceBuffer<float> buffer(100);
    DeviceBuffer<int32_t> argmax(100);
    CHECK_THROWS_AS(cuda::maxpool2d_forward(pool_shape(1, 1, 5, 5, 2, 2, 2), buffer.get(), buffer.get(), argmax.get()),
                    Error);  // padding > kernel / 2
    CHECK_THROWS_AS(cuda::avgpool2d_forward(pool_shape(1, 1, 2, 2, 5, 1, 0), buffer.get(), buffer.get()), Error);
  }
}
