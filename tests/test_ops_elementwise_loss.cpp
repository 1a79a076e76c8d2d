// relu, add, mul (with the gate broadcasts), dropout, cross_entropy, sum and
// mean: against naive loops written here, hand-computed values and finite
// differences in float64; float32 against float64.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "gradcheck.h"
#include "prunus/autograd.h"
#include "prunus/ops.h"
#include "prunus/rng.h"

using namespace prunus;
using prunus_test::max_abs_difference;
using prunus_test::random_f64;
using prunus_test::gradcheck;
using prunus_test::max_relative_difference;

namespace {

// b's flat index for a's flat index i, where b is 1 along some dims of a.
int64_t broadcast_source(const Shape& a, const Shape& b, int64_t i) {
  int64_t index = 0, stride = 1;
  for (int d = static_cast<int>(a.size()) - 1; d >= 0; --d) {
    const int64_t coordinate = i % a[d];
    i /= a[d];
    if (b[d] != 1) index += coordinate * stride;
    stride *= b[d];
  }
  return index;
}

// y = a op b and the b-gradient sum_i seed[i] * (mul ? a[i] : 1), by the definition.
std::vector<double> naive_binary(const Tensor& a, const Tensor& b, bool multiply) {
  const auto av = a.to_vector_f64(), bv = b.to_vector_f64();
  std::vector<double> y(av.size());
  for (size_t i = 0; i < av.size(); ++i) {
    const double v = bv[broadcast_source(a.shape(), b.shape(), i)];
    y[i] = multiply ? av[i] * v : av[i] + v;
  }
  return y;
}

std::vector<double> naive_b_gradient(const Tensor& a, const Tensor& b, const Tensor& seed, bool multiply) {
  const auto av = a.to_vector_f64(), sv = seed.to_vector_f64();
  std::vector<double> gb(b.numel(), 0.0);
  for (size_t i = 0; i < av.size(); ++i)
    gb[broadcast_source(a.shape(), b.shape(), i)] += sv[i] * (multiply ? av[i] : 1);
  return gb;
}

// Gate shapes for a conv weight [F,C,K,K] = [7,5,3,3], plus the plain cases.
const std::vector<Shape> kWeightGateShapes = {
    {7, 1, 3, 3},  // stripe gate
    {7, 5, 1, 1},  // channel gate
    {1, 5, 1, 1},  // per input channel
    {7, 1, 1, 1},  // per filter
    {7, 5, 3, 3},  // same shape (mask)
    {1, 1, 1, 1},  // one scalar
    {1, 5, 3, 1},  // mixed
};

}  // namespace

TEST_SUITE("ops") {
  TEST_CASE("relu forward and backward match the definition; NaN passes through") {
    Rng rng(1);
    for (DType dtype : {DType::F64, DType::F32}) {
      CAPTURE(dtype_name(dtype));
      Tensor x = Tensor::randn({3, 5, 7, 9}, rng, 0.0, 1.0, dtype).requires_grad_();
      Tensor seed = Tensor::randn(x.shape(), rng, 0.0, 1.0, dtype);
      Tensor y = ops::relu(x);
      y.backward(seed);
      const auto xv = x.to_vector_f64(), yv = y.to_vector_f64(), sv = seed.to_vector_f64();
      const auto gv = x.grad().to_vector_f64();
      int positives = 0, wrong_outputs = 0, wrong_gradients = 0;
      for (size_t i = 0; i < xv.size(); ++i) {
        wrong_outputs += yv[i] != (xv[i] > 0 ? xv[i] : 0.0);
        wrong_gradients += gv[i] != (xv[i] > 0 ? sv[i] : 0.0);
        positives += xv[i] > 0;
      }
      CHECK(wrong_outputs == 0);
      CHECK(wrong_gradients == 0);
      CHECK(positives > 300);  // both branches are exercised
      CHECK(positives < 645);
    }
    Tensor with_nan = Tensor::from_vector({3}, {-1.0f, std::numeric_limits<float>::quiet_NaN(), 2.0f});
    const auto out = ops::relu(with_nan).to_vector();
    CHECK(out[0] == 0.0f);
    CHECK(std::isnan(out[1]));
    CHECK(out[2] == 2.0f);
  }

  TEST_CASE("add and mul forward match naive broadcasting loops for every gate shape") {
    Rng rng(2);
    for (DType dtype : {DType::F64, DType::F32}) {
      CAPTURE(dtype_name(dtype));
      Tensor a = Tensor::randn({7, 5, 3, 3}, rng, 0.0, 1.0, dtype);
      for (const Shape& b_shape : kWeightGateShapes) {
        CAPTURE(shape_str(b_shape));
        Tensor b = Tensor::randn(b_shape, rng, 1.0, 1.0, dtype);
        for (bool multiply : {false, true}) {
          Tensor y = multiply ? ops::mul(a, b) : ops::add(a, b);
          CHECK(y.shape() == a.shape());
          CHECK(max_abs_difference(y.to_vector_f64(), naive_binary(a, b, multiply)) < 1e-6);
        }
      }
      // Activations [N,C,H,W] with a per-channel [1,C,1,1] and per-sample [N,1,1,1] factor.
      Tensor act = Tensor::randn({3, 5, 7, 9}, rng, 0.0, 1.0, dtype);
      for (const Shape& b_shape : {Shape{1, 5, 1, 1}, Shape{3, 1, 1, 1}, Shape{3, 1, 7, 9}}) {
        Tensor b = Tensor::randn(b_shape, rng, 0.0, 1.0, dtype);
        CHECK(max_abs_difference(ops::mul(act, b).to_vector_f64(), naive_binary(act, b, true)) < 1e-6);
        CHECK(max_abs_difference(ops::add(act, b).to_vector_f64(), naive_binary(act, b, false)) < 1e-6);
      }
    }
  }

  TEST_CASE("mul gradients of the weight and of each gate shape match finite differences") {
    Rng rng(3);
    Tensor a = Tensor::randn({7, 5, 3, 3}, rng, 0.0, 1.0, DType::F64).requires_grad_();
    for (const Shape& b_shape : kWeightGateShapes) {
      CAPTURE(shape_str(b_shape));
      Tensor b = Tensor::randn(b_shape, rng, 1.0, 0.5, DType::F64).requires_grad_();
      auto f = [](const std::vector<Tensor>& in) { return ops::mul(in[0], in[1]); };
      CHECK(gradcheck(f, {a, b}) < 1e-6);
      // And against the definition: dL/db = sum over broadcast dims of seed * a.
      Tensor seed = Tensor::randn(a.shape(), rng, 0.0, 1.0, DType::F64);
      a.zero_grad();
      b.zero_grad();
      ops::mul(a, b).backward(seed);
      CHECK(max_abs_difference(b.grad().to_vector_f64(), naive_b_gradient(a, b, seed, true)) < 1e-12);
      CHECK(max_abs_difference(a.grad().to_vector_f64(), naive_binary(seed, b, true)) < 1e-12);
    }
  }

  TEST_CASE("add gradients for each broadcast shape match finite differences and the definition") {
    Rng rng(4);
    Tensor a = Tensor::randn({3, 5, 7, 9}, rng, 0.0, 1.0, DType::F64).requires_grad_();
    for (const Shape& b_shape : {Shape{1, 5, 1, 1}, Shape{3, 5, 7, 9}, Shape{3, 1, 7, 1}, Shape{1, 1, 1, 1},
                                 Shape{3, 1, 1, 9}, Shape{1, 5, 7, 9}}) {
      CAPTURE(shape_str(b_shape));
      Tensor b = Tensor::randn(b_shape, rng, 0.0, 1.0, DType::F64).requires_grad_();
      auto f = [](const std::vector<Tensor>& in) { return ops::add(in[0], in[1]); };
      CHECK(gradcheck(f, {a, b}) < 1e-6);
      Tensor seed = Tensor::randn(a.shape(), rng, 0.0, 1.0, DType::F64);
      a.zero_grad();
      b.zero_grad();
      ops::add(a, b).backward(seed);
      CHECK(a.grad().to_vector_f64() == seed.to_vector_f64());
      CHECK(max_abs_difference(b.grad().to_vector_f64(), naive_b_gradient(a, b, seed, false)) < 1e-12);
    }
  }

  TEST_CASE("mul and add in float32 agree with float64 on large tensors (threaded path)") {
    Rng rng(5);
    struct Case {
      Shape a, b;
    };
    const std::vector<Case> cases = {{{64, 64, 3, 3}, {64, 1, 3, 3}},    {{64, 64, 3, 3}, {64, 64, 1, 1}},
                                     {{64, 64, 3, 3}, {1, 64, 1, 1}},    {{4, 16, 33, 31}, {1, 16, 1, 1}},
                                     {{4, 16, 33, 31}, {4, 16, 33, 31}}, {{300, 130}, {1, 130}}};
    for (const Case& c : cases) {
      CAPTURE(shape_str(c.a));
      CAPTURE(shape_str(c.b));
      for (bool multiply : {false, true}) {
        CAPTURE(multiply);
        Tensor a64 = Tensor::randn(c.a, rng, 0.0, 1.0, DType::F64).requires_grad_();
        Tensor b64 = Tensor::randn(c.b, rng, 0.0, 1.0, DType::F64).requires_grad_();
        Tensor a32 = a64.to(DType::F32).requires_grad_(), b32 = b64.to(DType::F32).requires_grad_();
        Tensor seed = Tensor::randn(c.a, rng, 0.0, 1.0, DType::F64);
        Tensor y64 = multiply ? ops::mul(a64, b64) : ops::add(a64, b64);
        Tensor y32 = multiply ? ops::mul(a32, b32) : ops::add(a32, b32);
        CHECK(max_relative_difference(y32, y64) < 1e-6);
        CHECK(max_abs_difference(y64.to_vector_f64(), naive_binary(a64, b64, multiply)) < 1e-12);
        y64.backward(seed);
        y32.backward(seed.to(DType::F32));
        CHECK(max_relative_difference(a32.grad(), a64.grad()) < 1e-6);
        CHECK(max_relative_difference(b32.grad(), b64.grad()) < 1e-4);  // sums of up to 16k terms in float
        CHECK(max_abs_difference(b64.grad().to_vector_f64(), naive_b_gradient(a64, b64, seed, multiply)) < 1e-9);
      }
    }
  }

  TEST_CASE("mul by a mask without requires_grad: the weight gets grad * mask, the mask none") {
    Rng rng(6);
    Tensor w = Tensor::randn({7, 5, 3, 3}, rng).requires_grad_();
    Tensor mask = Tensor::uniform({7, 5, 3, 3}, rng, 0.0, 1.0);
    for (int64_t i = 0; i < mask.numel(); ++i) mask.f32()[i] = mask.f32()[i] < 0.5f ? 0.0f : 1.0f;
    Tensor gate = Tensor::full({7, 1, 3, 3}, 1.0).requires_grad_();
    Tensor y = ops::mul(ops::mul(w, gate), mask);
    Tensor seed = Tensor::randn(y.shape(), rng);
    y.backward(seed);
    CHECK_FALSE(mask.grad().defined());
    const auto gw = w.grad().to_vector(), mv = mask.to_vector(), sv = seed.to_vector();
    int wrong = 0;
    for (size_t i = 0; i < gw.size(); ++i) wrong += gw[i] != sv[i] * mv[i];
    CHECK(wrong == 0);
    // The gate's gradient sees only the surviving weights.
    const auto want = naive_b_gradient(w, gate, ops::mul(seed, mask), true);
    CHECK(max_abs_difference(gate.grad().to_vector_f64(), want) < 1e-5);
  }

  TEST_CASE("add and mul refuse shapes that do not broadcast and mixed dtypes") {
    Tensor a = Tensor::zeros({7, 5, 3, 3});
    CHECK_THROWS_WITH_AS(ops::mul(a, Tensor::zeros({7, 5, 3})),
                         doctest::Contains("mul: b has shape [7, 5, 3], which does not broadcast to a's shape "
                                           "[7, 5, 3, 3]"),
                         Error);
    CHECK_THROWS_WITH_AS(ops::add(a, Tensor::zeros({7, 4, 1, 1})), doctest::Contains("add: b has shape [7, 4, 1, 1]"),
                         Error);
    // b may not be larger than a: broadcasting goes one way.
    CHECK_THROWS_AS(ops::mul(Tensor::zeros({1, 5, 1, 1}), Tensor::zeros({7, 5, 1, 1})), Error);
    CHECK_THROWS_WITH_AS(ops::add(a, Tensor::zeros({7, 5, 3, 3}, DType::F64)),
                         doctest::Contains("add: dtypes float32 and float64 differ"), Error);
    Tensor none;
    CHECK_THROWS_AS(ops::mul(a, none), Error);
    CHECK_THROWS_AS(ops::relu(none), Error);
  }

  TEST_CASE("cross_entropy matches hand-computed values and gradients") {
    for (DType dtype : {DType::F64, DType::F32}) {
      CAPTURE(dtype_name(dtype));
      Tensor logits = Tensor::from_vector_f64({2, 3}, {1, 2, 3, 1, 1, 1}).to(dtype).requires_grad_();
      // Row 0: log(e + e^2 + e^3) - 3 = 0.40760596...; row 1: log 3 = 1.09861228...
      Tensor loss = ops::cross_entropy(logits, {2, 0});
      CHECK(loss.shape() == Shape{1});
      CHECK(loss.item() == doctest::Approx((0.4076059644443806 + 1.0986122886681098) / 2).epsilon(1e-7));
      loss.backward();
      // d/dlogits = (softmax - one_hot) / N.
      const double e1 = std::exp(1.0), e2 = std::exp(2.0), e3 = std::exp(3.0), z = e1 + e2 + e3;
      const std::vector<double> want = {e1 / z / 2, e2 / z / 2, (e3 / z - 1) / 2, (1.0 / 3 - 1) / 2, 1.0 / 6, 1.0 / 6};
      CHECK(max_abs_difference(logits.grad().to_vector_f64(), want) < 1e-7);
    }
  }

  TEST_CASE("cross_entropy is stable for huge logits and its gradient matches finite differences") {
    Tensor huge = Tensor::from_vector({2, 3}, {1000, 0, -1000, 1000, 0, -1000});
    CHECK(ops::cross_entropy(huge, {0, 0}).item() == doctest::Approx(0.0));
    CHECK(ops::cross_entropy(huge, {1, 1}).item() == doctest::Approx(1000.0));
    CHECK(ops::cross_entropy(huge.to(DType::F64), {2, 1}).item() == doctest::Approx(1500.0));
    Rng rng(7);
    Tensor logits = Tensor::randn({7, 5}, rng, 0.0, 3.0, DType::F64).requires_grad_();
    const std::vector<int> labels = {0, 4, 2, 2, 1, 3, 0};
    auto f = [&labels](const std::vector<Tensor>& in) { return ops::cross_entropy(in[0], labels); };
    CHECK(gradcheck(f, {logits}) < 1e-6);
    // float32 against float64 on a larger, threaded batch.
    std::vector<int> many(300);
    for (size_t i = 0; i < many.size(); ++i) many[i] = static_cast<int>(rng.below(130));
    Tensor big64 = Tensor::randn({300, 130}, rng, 0.0, 4.0, DType::F64).requires_grad_();
    Tensor big32 = big64.to(DType::F32).requires_grad_();
    Tensor l64 = ops::cross_entropy(big64, many), l32 = ops::cross_entropy(big32, many);
    CHECK(l32.item() == doctest::Approx(l64.item()).epsilon(1e-6));
    l64.backward();
    l32.backward();
    CHECK(max_relative_difference(big32.grad(), big64.grad()) < 1e-7);
  }

  TEST_CASE("cross_entropy names bad labels and non-finite losses") {
    Tensor logits = Tensor::zeros({3, 4});
    CHECK_THROWS_WITH_AS(ops::cross_entropy(logits, {0, 4, 1}),
                         doctest::Contains("cross_entropy: label 4 at batch index 1 is outside [0, 4)"), Error);
    CHECK_THROWS_WITH_AS(ops::cross_entropy(logits, {0, 1, -1}),
                         doctest::Contains("label -1 at batch index 2 is outside [0, 4)"), Error);
    CHECK_THROWS_WITH_AS(ops::cross_entropy(logits, {0, 1}), doctest::Contains("2 labels for logits of shape [3, 4]"),
                         Error);
    CHECK_THROWS_WITH_AS(ops::cross_entropy(Tensor::zeros({3, 4, 1}), {0, 1, 2}), doctest::Contains("expected [N, K]"),
                         Error);
    Tensor with_nan = Tensor::zeros({3, 4});
    with_nan.set({1, 2}, std::numeric_limits<double>::quiet_NaN());
    CHECK_THROWS_WITH_AS(ops::cross_entropy(with_nan, {0, 1, 2}),
                         doctest::Contains("cross_entropy: loss is NaN (first at batch index 1"), Error);
    Tensor with_inf = Tensor::zeros({3, 4}, DType::F64);
    with_inf.set({2, 0}, std::numeric_limits<double>::infinity());
    CHECK_THROWS_WITH_AS(ops::cross_entropy(with_inf, {0, 1, 2}), doctest::Contains("loss is NaN"), Error);
    Tensor minus_inf = Tensor::zeros({3, 4});
    minus_inf.set({0, 3}, -std::numeric_limits<double>::infinity());
    CHECK_NOTHROW(ops::cross_entropy(minus_inf, {0, 1, 2}));        // a class with zero probability is fine...
    CHECK_THROWS_WITH_AS(ops::cross_entropy(minus_inf, {3, 1, 2}),  // ...unless it is the label
                         doctest::Contains("cross_entropy: loss is infinite"), Error);
  }

  TEST_CASE("dropout: drop rate, survivor scaling, gradient, eval and p=0 identity") {
    Rng rng(8);
    Tensor x = Tensor::full({200, 501}, 2.0).requires_grad_();
    const double p = 0.3;
    Tensor y = ops::dropout(x, p, true, rng);
    const auto yv = y.to_vector();
    int64_t dropped = 0, wrongly_scaled = 0;
    double total = 0;
    for (float v : yv) {
      if (v == 0.0f)
        ++dropped;
      else
        wrongly_scaled += v != 2.0f * float(1 / (1 - p));
      total += v;
    }
    CHECK(wrongly_scaled == 0);
    const double rate = double(dropped) / yv.size();
    CHECK(std::abs(rate - p) < 0.007);                // ~5 standard deviations of the rate
    CHECK(std::abs(total / yv.size() - 2.0) < 0.02);  // inverted dropout keeps the mean
    Tensor seed = Tensor::randn(x.shape(), rng);
    y.backward(seed);
    const auto gv = x.grad().to_vector(), sv = seed.to_vector();
    int64_t wrong_gradients = 0;
    for (size_t i = 0; i < gv.size(); ++i)
      wrong_gradients += gv[i] != (yv[i] == 0.0f ? 0.0f : sv[i] * float(1 / (1 - p)));
    CHECK(wrong_gradients == 0);
    CHECK(y.grad_fn()->op == "dropout");
    CHECK(ops::dropout(x, p, false, rng).same_as(x));
    CHECK(ops::dropout(x, 0.0, true, rng).same_as(x));
    const auto all_dropped = ops::dropout(x, 1.0, true, rng).to_vector();
    CHECK(std::count(all_dropped.begin(), all_dropped.end(), 0.0f) == int64_t(all_dropped.size()));
    CHECK_THROWS_WITH_AS(ops::dropout(x, 1.5, true, rng), doctest::Contains("dropout: probability p is 1.5"), Error);
    CHECK_THROWS_AS(ops::dropout(x, -0.1, true, rng), Error);
  }

  TEST_CASE("dropout is deterministic for a seed and differs between seeds and calls") {
    Tensor x32 = Tensor::ones({3, 5, 7, 9});
    Tensor x64 = Tensor::ones({3, 5, 7, 9}, DType::F64);
    Rng a(99), b(99), c(100);
    const auto ya = ops::dropout(x32, 0.5, true, a).to_vector();
    const auto yb = ops::dropout(x64, 0.5, true, b).to_vector();
    const auto yc = ops::dropout(x32, 0.5, true, c).to_vector();
    CHECK(ya == yb);  // same seed, same mask, whatever the dtype
    CHECK(ya != yc);
    CHECK(ops::dropout(x32, 0.5, true, a).to_vector() != ya);  // the generator moved on
  }

  TEST_CASE("sum and mean: values, gradients, finite differences, float32 accuracy") {
    Rng rng(9);
    Tensor x = Tensor::randn({3, 5, 7, 9}, rng, 0.5, 1.0, DType::F64).requires_grad_();
    const auto xv = x.to_vector_f64();
    double want = 0;
    for (double v : xv) want += v;
    CHECK(ops::sum(x).item() == doctest::Approx(want).epsilon(1e-12));
    CHECK(ops::mean(x).item() == doctest::Approx(want / xv.size()).epsilon(1e-12));
    CHECK(ops::sum(x).shape() == Shape{1});
    auto fs = [](const std::vector<Tensor>& in) { return ops::sum(in[0]); };
    auto fm = [](const std::vector<Tensor>& in) { return ops::mean(in[0]); };
    CHECK(gradcheck(fs, {x}) < 1e-6);
    CHECK(gradcheck(fm, {x}) < 1e-6);
    x.zero_grad();
    ops::mean(x).backward(Tensor::full({1}, 3.0, DType::F64));
    CHECK(x.grad().at({2, 4, 6, 8}) == doctest::Approx(3.0 / 945));
    // A million float32 values of 0.1: the sum is accumulated in double.
    Tensor many = Tensor::full({1000, 1000}, 0.1);
    CHECK(ops::sum(many).item() == doctest::Approx(100000.0).epsilon(1e-6));
    CHECK(ops::mean(many).item() == doctest::Approx(0.1).epsilon(1e-6));
    Tensor big = Tensor::randn({77, 1001}, rng, 0.0, 1.0, DType::F64);
    CHECK(ops::sum(big.to(DType::F32)).item() == doctest::Approx(ops::sum(big).item()).epsilon(1e-5));
    CHECK_THROWS_WITH_AS(ops::mean(Tensor::zeros({0, 3})),
                         doctest::Contains("mean: the input of shape [0, 3] is empty"), Error);
    CHECK(ops::sum(Tensor::zeros({0, 3})).item() == 0.0);
  }

  TEST_CASE("elementwise and loss ops record the node names the pruning analysis reads") {
    Rng rng(10);
    Tensor w = Tensor::randn({3, 5}, rng).requires_grad_();
    Tensor b = Tensor::randn({1, 5}, rng).requires_grad_();
    Tensor h = ops::relu(ops::add(ops::mul(w, b), b));
    auto order = topological_order(ops::cross_entropy(h, {0, 4, 2}));
    std::vector<std::string> names;
    for (const auto& node : order) names.push_back(node->op);
    CHECK(names == std::vector<std::string>{"mul", "add", "relu", "cross_entropy"});
    CHECK(order[1]->inputs[1].same_as(b));
    CHECK(ops::sum(h).grad_fn()->op == "sum");
    CHECK(ops::mean(h).grad_fn()->op == "mean");
    NoGradGuard no_grad;
    CHECK(ops::mul(w, b).grad_fn() == nullptr);
    CHECK_FALSE(ops::relu(w).requires_grad());
  }
}
