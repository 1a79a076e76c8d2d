// Pooling and shape ops: forward against naive loops written here, backward
// against finite differences (float64), float32 against float64, the OpenMP
// float32 pooling kernels against the reference ones, the recorded nodes, and
// argument errors.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "gradcheck.h"
#include "prunus/autograd.h"
#include "prunus/kernels/pool.h"
#include "prunus/ops.h"
#include "prunus/rng.h"
#include "prunus/tensor.h"

using namespace prunus;
using prunus_test::max_abs_difference;
using prunus_test::random_f64;
using prunus_test::gradcheck;
using prunus_test::max_relative_difference;

namespace {

struct PoolCase {
  int kernel, stride, padding;
};
// Overlapping windows with padding, the classic 2x2/2, 1x1, a 5x5 window, and stride 3.
const std::vector<PoolCase> kPoolCases = {{3, 2, 1}, {2, 2, 0}, {1, 1, 0}, {5, 1, 2}, {3, 3, 1}};
const Shape kImage = {3, 5, 7, 9};

// Reads x[n,c,h,w] with padding as `pad_value`.
double padded_at(const std::vector<double>& x, const Shape& s, int64_t n, int64_t c, int64_t h, int64_t w,
                 double pad_value) {
  if (h < 0 || h >= s[2] || w < 0 || w >= s[3]) return pad_value;
  return x[((n * s[1] + c) * s[2] + h) * s[3] + w];
}

// mode "max" (padding never wins) or "avg" (padding counts as 0, divisor k*k).
std::vector<double> naive_pool(const std::vector<double>& x, const Shape& s, const PoolCase& p, bool max) {
  const int64_t OH = (s[2] + 2 * p.padding - p.kernel) / p.stride + 1;
  const int64_t OW = (s[3] + 2 * p.padding - p.kernel) / p.stride + 1;
  const double neg_inf = -std::numeric_limits<double>::infinity();
  std::vector<double> y;
  for (int64_t n = 0; n < s[0]; ++n)
    for (int64_t c = 0; c < s[1]; ++c)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          double acc = max ? neg_inf : 0.0;
          for (int i = 0; i < p.kernel; ++i)
            for (int j = 0; j < p.kernel; ++j) {
              const double v = padded_at(x, s, n, c, oh * p.stride - p.padding + i,
                                         ow * p.stride - p.padding + j, max ? neg_inf : 0.0);
              acc = max ? std::max(acc, v) : acc + v;
            }
          y.push_back(max ? acc : acc / (p.kernel * p.kernel));
        }
  return y;
}

}  // namespace

TEST_SUITE("ops") {
  TEST_CASE("maxpool2d and avgpool2d forward match naive pooling, float64 and float32") {
    Rng rng(31);
    Tensor x = random_f64(kImage, rng);
    const std::vector<double> xv = x.to_vector_f64();
    for (const PoolCase& p : kPoolCases) {
      CAPTURE(p.kernel);
      CAPTURE(p.stride);
      CAPTURE(p.padding);
      const Shape out = {3, 5, (7 + 2 * p.padding - p.kernel) / p.stride + 1,
                         (9 + 2 * p.padding - p.kernel) / p.stride + 1};
      Tensor mx = ops::maxpool2d(x, p.kernel, p.stride, p.padding);
      Tensor av = ops::avgpool2d(x, p.kernel, p.stride, p.padding);
      CHECK(mx.shape() == out);
      CHECK(av.shape() == out);
      CHECK(max_abs_difference(mx.to_vector_f64(), naive_pool(xv, kImage, p, true)) == 0.0);
      CHECK(max_abs_difference(av.to_vector_f64(), naive_pool(xv, kImage, p, false)) < 1e-12);
      Tensor x32 = x.to(DType::F32);
      CHECK(max_relative_difference(ops::maxpool2d(x32, p.kernel, p.stride, p.padding), mx) < 1e-6);
      CHECK(max_relative_difference(ops::avgpool2d(x32, p.kernel, p.stride, p.padding), av) < 1e-6);
    }
  }

  TEST_CASE("avgpool2d counts padding as zeros; maxpool2d ignores it") {
    // All-ones 3x3 plane, window 3, stride 2, padding 1 -> 2x2 outputs, each
    // window covers 4 real ones out of 9 positions.
    Tensor ones = Tensor::ones({1, 1, 3, 3});
    CHECK(ops::avgpool2d(ones, 3, 2, 1).to_vector() == std::vector<float>(4, 4.0f / 9.0f));
    Tensor negative = Tensor::full({1, 1, 3, 3}, -2.0);
    CHECK(ops::maxpool2d(negative, 3, 2, 1).to_vector() == std::vector<float>(4, -2.0f));
  }

  TEST_CASE("maxpool2d backward routes to the first maximum and sums overlapping windows") {
    // Ties: [[1,3],[3,2]] -> the gradient goes to the first 3 (row-major).
    Tensor tie = Tensor::from_vector_f64({1, 1, 2, 2}, {1, 3, 3, 2}).requires_grad_();
    ops::maxpool2d(tie, 2, 2, 0).backward(Tensor::full({1, 1, 1, 1}, 5.0, DType::F64));
    CHECK(tie.grad().to_vector_f64() == std::vector<double>{0, 5, 0, 0});
    // All equal: the top-left corner takes it.
    Tensor flat = Tensor::full({1, 1, 2, 2}, 7.0, DType::F64).requires_grad_();
    ops::maxpool2d(flat, 2, 2, 0).backward(Tensor::ones({1, 1, 1, 1}, DType::F64));
    CHECK(flat.grad().to_vector_f64() == std::vector<double>{1, 0, 0, 0});
    // Overlap: the centre of a 3x3 plane is the maximum of all four 2x2/1 windows.
    Tensor peak = Tensor::from_vector_f64({1, 1, 3, 3}, {0, 0, 0, 0, 9, 0, 0, 0, 0}).requires_grad_();
    Tensor y = ops::maxpool2d(peak, 2, 1, 0);
    y.backward(Tensor::from_vector_f64({1, 1, 2, 2}, {1, 2, 3, 4}));
    CHECK(peak.grad().to_vector_f64() == std::vector<double>{0, 0, 0, 0, 10, 0, 0, 0, 0});
    REQUIRE(y.grad_fn() != nullptr);
    CHECK(y.grad_fn()->op == "maxpool2d");
    CHECK(y.grad_fn()->attributes.at("kernel") == 2);
    CHECK(y.grad_fn()->attributes.at("stride") == 1);
  }

  TEST_CASE("maxpool2d, avgpool2d, global_avgpool backward match finite differences") {
    Rng rng(32);
    for (const PoolCase& p : kPoolCases) {
      CAPTURE(p.kernel);
      CAPTURE(p.stride);
      Tensor x = random_f64(kImage, rng).requires_grad_();
      auto max_f = [&p](const std::vector<Tensor>& t) {
        return ops::maxpool2d(t[0], p.kernel, p.stride, p.padding);
      };
      auto avg_f = [&p](const std::vector<Tensor>& t) {
        return ops::avgpool2d(t[0], p.kernel, p.stride, p.padding);
      };
      CHECK(gradcheck(max_f, {x}) < 1e-6);
      CHECK(gradcheck(avg_f, {x}) < 1e-6);
    }
    Tensor x = random_f64(kImage, rng).requires_grad_();
    auto global_f = [](const std::vector<Tensor>& t) { return ops::global_avgpool(t[0]); };
    CHECK(gradcheck(global_f, {x}) < 1e-6);
  }

  TEST_CASE("global_avgpool forward, node and float32 agreement") {
    Rng rng(33);
    Tensor x = random_f64(kImage, rng).requires_grad_();
    Tensor y = ops::global_avgpool(x);
    CHECK(y.shape() == Shape{3, 5});
    const std::vector<double> xv = x.to_vector_f64();
    std::vector<double> expected;
    for (int64_t plane = 0; plane < 15; ++plane) {
      double acc = 0;
      for (int64_t i = 0; i < 63; ++i) acc += xv[plane * 63 + i];
      expected.push_back(acc / 63);
    }
    CHECK(max_abs_difference(y.to_vector_f64(), expected) < 1e-12);
    REQUIRE(y.grad_fn() != nullptr);
    CHECK(y.grad_fn()->op == "global_avgpool");
    Tensor x32 = x.to(DType::F32).requires_grad_();
    Tensor y32 = ops::global_avgpool(x32);
    CHECK(max_relative_difference(y32, y) < 1e-6);
    Tensor seed = random_f64({3, 5}, rng);
    y.backward(seed);
    y32.backward(seed.to(DType::F32));
    CHECK(max_relative_difference(x32.grad(), x.grad()) < 1e-6);
  }

  TEST_CASE("float32 pooling: OpenMP kernels equal the reference, gradients agree with float64") {
    Rng rng(34);
    Tensor x64 = random_f64(kImage, rng).requires_grad_();
    Tensor x32 = x64.to(DType::F32).requires_grad_();
    kernels::Pool2dShape s;
    s.batch = 3, s.channels = 5, s.in_height = 7, s.in_width = 9, s.kernel = 3, s.stride = 2, s.padding = 1;
    const size_t out = size_t(s.planes()) * s.out_height() * s.out_width();
    std::vector<float> y_fast(out), y_ref(out), dx_fast(x32.numel()), dx_ref(x32.numel());
    std::vector<int32_t> arg_fast(out), arg_ref(out);
    kernels::maxpool2d_forward(s, x32.f32(), y_fast.data(), arg_fast.data());
    kernels::maxpool2d_forward_reference(s, x32.f32(), y_ref.data(), arg_ref.data());
    CHECK(y_fast == y_ref);
    CHECK(arg_fast == arg_ref);
    kernels::maxpool2d_backward(s, y_fast.data(), arg_fast.data(), dx_fast.data());
    kernels::maxpool2d_backward_reference(s, y_ref.data(), arg_ref.data(), dx_ref.data());
    CHECK(dx_fast == dx_ref);
    kernels::avgpool2d_forward(s, x32.f32(), y_fast.data());
    kernels::avgpool2d_forward_reference(s, x32.f32(), y_ref.data());
    CHECK(y_fast == y_ref);
    kernels::avgpool2d_backward(s, y_fast.data(), dx_fast.data());
    kernels::avgpool2d_backward_reference(s, y_ref.data(), dx_ref.data());
    CHECK(dx_fast == dx_ref);

    for (bool max : {true, false}) {
      CAPTURE(max);
      x64.zero_grad();
      x32.zero_grad();
      Tensor y64 = max ? ops::maxpool2d(x64, 3, 2, 1) : ops::avgpool2d(x64, 3, 2, 1);
      Tensor y32 = max ? ops::maxpool2d(x32, 3, 2, 1) : ops::avgpool2d(x32, 3, 2, 1);
      Tensor seed = random_f64(y64.shape(), rng);
      y64.backward(seed);
      y32.backward(seed.to(DType::F32));
      CHECK(x32.grad().dtype() == DType::F32);
      CHECK(max_relative_difference(x32.grad(), x64.grad()) < 1e-6);
    }
  }

  TEST_CASE("pooling refuses bad arguments with clear errors") {
    Tensor x = Tensor::zeros(kImage);
    CHECK_THROWS_WITH_AS(ops::maxpool2d(Tensor::zeros({5, 7, 9}), 2, 2),
                         doctest::Contains("maxpool2d: input x must be 4-d"), Error);
    CHECK_THROWS_WITH_AS(ops::avgpool2d(x, 0, 1), doctest::Contains("avgpool2d: kernel must be >= 1"), Error);
    CHECK_THROWS_WITH_AS(ops::maxpool2d(x, 3, 0), doctest::Contains("stride must be >= 1, got 0"), Error);
    CHECK_THROWS_WITH_AS(ops::maxpool2d(x, 3, 1, 2),
                         doctest::Contains("padding must be in [0, kernel/2] = [0, 1]"), Error);
    CHECK_THROWS_WITH_AS(ops::avgpool2d(x, 3, 1, -1), doctest::Contains("padding must be in"), Error);
    CHECK_THROWS_WITH_AS(ops::maxpool2d(x, 9, 1, 0),
                         doctest::Contains("kernel 9x9 is larger than the padded input 7x9"), Error);
    CHECK_NOTHROW(ops::maxpool2d(x, 9, 1, 1));
    CHECK_THROWS_WITH_AS(ops::global_avgpool(Tensor::zeros({3, 5})),
                         doctest::Contains("global_avgpool: input x must be 4-d"), Error);
    CHECK_THROWS_WITH_AS(ops::global_avgpool(Tensor()), doctest::Contains("undefined"), Error);
  }

  TEST_CASE("flatten and reshape are recorded views with exact gradients") {
    Rng rng(41);
    Tensor x = random_f64(kImage, rng).requires_grad_();
    Tensor flat = ops::flatten(x);
    CHECK(flat.shape() == Shape{3, 315});
    CHECK(flat.to_vector_f64() == x.to_vector_f64());
    CHECK(flat.raw_data() == x.raw_data());  // a view, not a copy
    REQUIRE(flat.grad_fn() != nullptr);
    CHECK(flat.grad_fn()->op == "flatten");
    CHECK(flat.grad_fn()->inputs[0].same_as(x));
    Tensor r = ops::reshape(x, {5, -1, 9});
    CHECK(r.shape() == Shape{5, 21, 9});
    CHECK(r.grad_fn()->op == "reshape");

    auto flatten_f = [](const std::vector<Tensor>& t) { return ops::flatten(t[0]); };
    auto reshape_f = [](const std::vector<Tensor>& t) { return ops::reshape(t[0], {7, 45, 3}); };
    CHECK(gradcheck(flatten_f, {x}) < 1e-6);
    CHECK(gradcheck(reshape_f, {x}) < 1e-6);
    // The gradient comes back in x's shape, element for element.
    x.zero_grad();
    Tensor seed = random_f64({3, 315}, rng);
    ops::flatten(x).backward(seed);
    CHECK(x.grad().shape() == kImage);
    CHECK(x.grad().to_vector_f64() == seed.to_vector_f64());

    CHECK_THROWS_WITH_AS(ops::flatten(Tensor::zeros({4})),
                         doctest::Contains("flatten: input x must have at least 2"), Error);
    CHECK_THROWS_AS(ops::reshape(x, {4, -1}), Error);
    CHECK_THROWS_AS(ops::reshape(x, {3, 5, 7, 10}), Error);
  }

  TEST_CASE("concat joins channels in order; gradients split back; 2-d parts too") {
    Rng rng(42);
    Tensor a = random_f64({3, 2, 7, 9}, rng).requires_grad_();
    Tensor b = random_f64({3, 5, 7, 9}, rng).requires_grad_();
    Tensor c = random_f64({3, 1, 7, 9}, rng).requires_grad_();
    Tensor y = ops::concat({a, b, c});
    CHECK(y.shape() == Shape{3, 8, 7, 9});
    bool all_equal = true;
    for (int64_t n = 0; n < 3; ++n)
      for (int64_t ch = 0; ch < 8; ++ch)
        for (int64_t h = 0; h < 7; ++h)
          for (int64_t w = 0; w < 9; ++w) {
            const double expected = ch < 2   ? a.at({n, ch, h, w})
                                    : ch < 7 ? b.at({n, ch - 2, h, w})
                                             : c.at({n, 0, h, w});
            all_equal = all_equal && y.at({n, ch, h, w}) == expected;
          }
    CHECK(all_equal);
    REQUIRE(y.grad_fn() != nullptr);
    CHECK(y.grad_fn()->op == "concat");
    REQUIRE(y.grad_fn()->inputs.size() == 3);
    CHECK(y.grad_fn()->inputs[0].same_as(a));
    CHECK(y.grad_fn()->inputs[1].same_as(b));
    CHECK(y.grad_fn()->inputs[2].same_as(c));

    auto f = [](const std::vector<Tensor>& t) { return ops::concat(t); };
    CHECK(gradcheck(f, {a, b, c}) < 1e-6);
    Tensor p = random_f64({3, 4}, rng).requires_grad_(), q = random_f64({3, 3}, rng).requires_grad_();
    Tensor pq = ops::concat({p, q});
    CHECK(pq.shape() == Shape{3, 7});
    CHECK(pq.at({2, 5}) == q.at({2, 1}));
    CHECK(gradcheck(f, {p, q}) < 1e-6);
    // A part that needs no gradient gets none; float32 matches float64.
    Tensor frozen = random_f64({3, 3}, rng);
    p.zero_grad();
    ops::concat({frozen, p}).backward(Tensor::ones({3, 7}, DType::F64));
    CHECK_FALSE(frozen.grad().defined());
    CHECK(p.grad().to_vector_f64() == std::vector<double>(12, 1.0));
    CHECK(max_relative_difference(ops::concat({a.to(DType::F32), b.to(DType::F32)}), ops::concat({a, b})) <
          1e-6);
  }

  TEST_CASE("concat refuses bad arguments with clear errors") {
    CHECK_THROWS_WITH_AS(ops::concat({}), doctest::Contains("at least one tensor"), Error);
    CHECK_THROWS_WITH_AS(
        ops::concat({Tensor::zeros({3, 2, 7, 9}), Tensor::zeros({3, 2, 7, 8})}),
        doctest::Contains("part 1 [3, 2, 7, 8] differs from part 0 [3, 2, 7, 9] outside dim 1"), Error);
    CHECK_THROWS_WITH_AS(ops::concat({Tensor::zeros({3, 2}), Tensor::zeros({2, 2})}),
                         doctest::Contains("outside dim 1"), Error);
    CHECK_THROWS_WITH_AS(ops::concat({Tensor::zeros({3, 2, 7, 9}), Tensor::zeros({3, 2, 63})}),
                         doctest::Contains("outside dim 1"), Error);
    CHECK_THROWS_WITH_AS(ops::concat({Tensor::zeros({3, 2}), Tensor::zeros({3, 2}, DType::F64)}),
                         doctest::Contains("dtypes"), Error);
    CHECK_THROWS_WITH_AS(ops::concat({Tensor::zeros({4})}), doctest::Contains("at least 2 dims"), Error);
    CHECK_THROWS_WITH_AS(ops::concat({Tensor::zeros({3, 2}), Tensor()}),
                         doctest::Contains("part 1 is an undefined"), Error);
  }

  TEST_CASE("subsample_pad_channels: x[:, :, ::s, ::s] between zero channels, and its gradient") {
    Rng rng(43);
    Tensor x = random_f64(kImage, rng).requires_grad_();
    Tensor y = ops::subsample_pad_channels(x, 2, 2, 3);
    CHECK(y.shape() == Shape{3, 10, 4, 5});  // ceil(7/2), ceil(9/2)
    bool all_equal = true;
    for (int64_t n = 0; n < 3; ++n)
      for (int64_t ch = 0; ch < 10; ++ch)
        for (int64_t h = 0; h < 4; ++h)
          for (int64_t w = 0; w < 5; ++w) {
            const double expected = (ch >= 2 && ch < 7) ? x.at({n, ch - 2, 2 * h, 2 * w}) : 0.0;
            all_equal = all_equal && y.at({n, ch, h, w}) == expected;
          }
    CHECK(all_equal);
    REQUIRE(y.grad_fn() != nullptr);
    CHECK(y.grad_fn()->op == "subsample_pad_channels");
    CHECK(y.grad_fn()->attributes.at("stride") == 2);
    CHECK(y.grad_fn()->attributes.at("pad_before") == 2);
    CHECK(y.grad_fn()->attributes.at("pad_after") == 3);

    for (int stride : {1, 2, 3}) {
      CAPTURE(stride);
      auto f = [stride](const std::vector<Tensor>& t) {
        return ops::subsample_pad_channels(t[0], stride, 1, 4);
      };
      CHECK(gradcheck(f, {x}) < 1e-6);
    }
    Tensor same = ops::subsample_pad_channels(x, 1, 0, 0);
    CHECK(same.to_vector_f64() == x.to_vector_f64());
    CHECK(max_relative_difference(ops::subsample_pad_channels(x.to(DType::F32), 3, 1, 1),
                                  ops::subsample_pad_channels(x, 3, 1, 1)) < 1e-6);

    CHECK_THROWS_WITH_AS(ops::subsample_pad_channels(x, 0, 1, 1), doctest::Contains("stride must be >= 1"),
                         Error);
    CHECK_THROWS_WITH_AS(ops::subsample_pad_channels(x, 2, -1, 1), doctest::Contains("pad_before -1"), Error);
    CHECK_THROWS_WITH_AS(ops::subsample_pad_channels(Tensor::zeros({3, 5}), 2, 1, 1),
                         doctest::Contains("must be 4-d"), Error);
  }

  TEST_CASE("a small network through every op here has exact gradients for all parameters") {
    Rng rng(44);
    Tensor x = random_f64({2, 3, 7, 9}, rng).requires_grad_();
    Tensor conv_w = random_f64({4, 3, 3, 3}, rng).requires_grad_();
    Tensor conv_b = random_f64({4}, rng).requires_grad_();
    Tensor fc_w = random_f64({3, 171}, rng).requires_grad_();
    Tensor fc_b = random_f64({3}, rng).requires_grad_();
    auto net = [](const std::vector<Tensor>& t) {
      Tensor features = ops::conv2d(t[0], t[1], t[2], 1, 1);  // [2,4,7,9]
      Tensor branches =
          ops::concat({ops::maxpool2d(features, 3, 2, 1), ops::avgpool2d(features, 3, 2, 1)});  // [2,8,4,5]
      Tensor shortcut = ops::global_avgpool(ops::subsample_pad_channels(branches, 2, 1, 2));    // [2,11]
      Tensor joined = ops::concat({shortcut, ops::flatten(branches)});                          // [2,171]
      return ops::linear(ops::reshape(joined, {2, 171}), t[3], t[4]);
    };
    Tensor out = net({x, conv_w, conv_b, fc_w, fc_b});
    CHECK(out.shape() == Shape{2, 3});
    CHECK(gradcheck(net, {x, conv_w, conv_b, fc_w, fc_b}) < 1e-6);
  }
}
