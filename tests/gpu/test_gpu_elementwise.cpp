// CUDA relu, add, accumulate, fill and the concat channel copy, against plain
// loops written here from the CPU ops' definitions.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "gpu_test_helpers.h"
#include "prunus/cuda/kernels.h"

using namespace prunus;
using namespace prunus_test;

TEST_SUITE("gpu_elementwise") {
  TEST_CASE("relu forward and backward, NaN and zeros included") {
    Rng rng(401);
    std::vector<float> x = random_values(1001, rng), dy = random_values(1001, rng);
    x[3] = 0.0f;
    x[4] = -0.0f;
    x[5] = std::nanf("");
    DeviceBuffer<float> gx(x), gy(x.size()), gdy(dy), gdx(x.size());
    cuda::relu_forward(gx.get(), poisoned(gy)->get(), int64_t(x.size()));
    cuda::relu_backward(gx.get(), gdy.get(), poisoned(gdx)->get(), int64_t(x.size()));
    const std::vector<float> y = gy.download(), dx = gdx.download();
    for (size_t i = 0; i < x.size(); ++i) {
      if (std::isnan(x[i])) {
        CHECK(std::isnan(y[i]));
        CHECK(dx[i] == 0.0f);
        continue;
      }
      CHECK(y[i] == (x[i] < 0 ? 0.0f : x[i]));
      CHECK(dx[i] == (x[i] > 0 ? dy[i] : 0.0f));
    }
  }

  TEST_CASE("add, accumulate and fill") {
    Rng rng(402);
    const std::vector<float> a = random_values(777, rng), b = random_values(777, rng);
    DeviceBuffer<float> ga(a), gb(b), gy(a.size());
    cuda::add(ga.get(), gb.get(), poisoned(gy)->get(), int64_t(a.size()));
    const std::vector<float> sum = gy.download();
    cuda::accumulate(ga.get(), gb.get(), int64_t(a.size()));
    const std::vector<float> accumulated = ga.download();
    for (size_t i = 0; i < a.size(); ++i) {
      CHECK(sum[i] == a[i] + b[i]);
      CHECK(accumulated[i] == a[i] + b[i]);
    }
    cuda::fill(gy.get(), 2.5f, int64_t(a.size()));
    for (float v : gy.download()) CHECK(v == 2.5f);
  }

  TEST_CASE("concat forward and backward through copy_channels") {
    Rng rng(403);
    const int64_t batch = 3, inner = 35, c1 = 5, c2 = 7, total = c1 + c2;
    const std::vector<float> p1 = random_values(size_t(batch * c1 * inner), rng);
    const std::vector<float> p2 = random_values(size_t(batch * c2 * inner), rng);
    DeviceBuffer<float> g1(p1), g2(p2), gcat(size_t(batch * total * inner));
    poisoned(gcat);
    cuda::copy_channels(g1.get(), c1, 0, gcat.get(), total, 0, batch, c1, inner);
    cuda::copy_channels(g2.get(), c2, 0, gcat.get(), total, c1, batch, c2, inner);
    const std::vector<float> cat = gcat.download();
    for (int64_t n = 0; n < batch; ++n)
      for (int64_t c = 0; c < total; ++c)
        for (int64_t i = 0; i < inner; ++i) {
          const float expected = c < c1 ? p1[size_t((n * c1 + c) * inner + i)] : p2[size_t((n * c2 + c - c1) * inner + i)];
          REQUIRE(cat[size_t((n * total + c) * inner + i)] == expected);
        }
    // Backward: slice part 2's channels back out.
    DeviceBuffer<float> back(p2.size());
    cuda::copy_channels(gcat.get(), total, c1, poisoned(back)->get(), c2, 0, batch, c2, inner);
    CHECK(back.download() == p2);
    CHECK_THROWS_AS(cuda::copy_channels(g1.get(), c1, 1, gcat.get(), total, 0, batch, c1, inner), Error);
  }
}
