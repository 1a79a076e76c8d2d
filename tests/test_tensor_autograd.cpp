#include <cmath>
#include <cstdlib>
#include <doctest/doctest.h>

#include "gradcheck.h"
#include "prunus/autograd.h"
#include "prunus/rng.h"
#include "prunus/tensor.h"

using namespace prunus;

// The ops defined only here are rows of the op table like any custom op's.
static const bool test_ops_registered = [] {
  for (const char* name : {"test_mul", "test_add", "wrong_square"})
    register_op_kind({name, MacRule::None, ChannelRule::Pins});
  return true;
}();

// A tiny op defined only here, so the engine is tested without the op library:
// y = a * b elementwise, same shapes.
static Tensor test_mul(const Tensor& a, const Tensor& b) {
  Tensor y = Tensor::empty(a.shape(), a.dtype());
  for (int64_t i = 0; i < a.numel(); ++i) y.f64()[i] = a.f64()[i] * b.f64()[i];
  record_op("test_mul", y, {a, b}, [a, b](const Tensor& g) {
    Tensor ga = Tensor::empty(a.shape(), DType::F64), gb = Tensor::empty(b.shape(), DType::F64);
    for (int64_t i = 0; i < a.numel(); ++i) {
      ga.f64()[i] = g.f64()[i] * b.f64()[i];
      gb.f64()[i] = g.f64()[i] * a.f64()[i];
    }
    return std::vector<Tensor>{ga, gb};
  });
  return y;
}

static Tensor test_add(const Tensor& a, const Tensor& b) {
  Tensor y = Tensor::empty(a.shape(), a.dtype());
  for (int64_t i = 0; i < a.numel(); ++i) y.f64()[i] = a.f64()[i] + b.f64()[i];
  record_op("test_add", y, {a, b}, [](const Tensor& g) { return std::vector<Tensor>{g, g}; });
  return y;
}

TEST_SUITE("tensor") {
  TEST_CASE("autograd: an op missing from the op table is refused when recorded, naming the table") {
    REQUIRE(test_ops_registered);
    Tensor a = Tensor::ones({2}, DType::F64);
    a.requires_grad_(true);
    Tensor y = Tensor::empty({2}, DType::F64);
    CHECK_THROWS_WITH_AS(record_op("no_such_op", y, {a}, nullptr), doctest::Contains("op_kinds.cpp"), Error);
    CHECK_THROWS_WITH_AS(register_op_kind({"conv2d", MacRule::None, ChannelRule::Pins}),
                         doctest::Contains("other rules"), Error);
    CHECK_NOTHROW(register_op_kind({"conv2d", MacRule::WeightPerOutputChannel, ChannelRule::Conv}));
  }
  TEST_CASE("zeros is zero; empty is poisoned in the tests, even on a recycled block") {
    REQUIRE(std::getenv("PRUNUS_POISON_UNINITIALIZED") != nullptr);  // set by test_main.cpp
    for (int round = 0; round < 2; ++round) {  // the second round gets the first round's freed blocks
      Tensor z = Tensor::zeros({257}), e = Tensor::empty({257}), d = Tensor::empty({33}, DType::F64);
      for (int64_t i = 0; i < 257; ++i) {
        CHECK(z.f32()[i] == 0.0f);
        CHECK(std::isnan(e.f32()[i]));
      }
      for (int64_t i = 0; i < 33; ++i) CHECK(std::isnan(d.f64()[i]));
      e.fill_(1.0);
    }
  }

  TEST_CASE("factories, shape and element access") {
    Tensor t = Tensor::zeros({3, 5, 7, 9});
    CHECK(t.numel() == 945);
    CHECK(t.ndim() == 4);
    CHECK(t.size(-1) == 9);
    CHECK(t.at({2, 4, 6, 8}) == 0.0);
    t.set({1, 2, 3, 4}, 2.5);
    CHECK(t.at({1, 2, 3, 4}) == 2.5);
    CHECK(reinterpret_cast<uintptr_t>(t.raw_data()) % 64 == 0);
    CHECK(shape_str(t.shape()) == "[3, 5, 7, 9]");
    CHECK_THROWS_AS(t.at({3, 0, 0, 0}), Error);
    CHECK_THROWS_AS(t.size(4), Error);
  }

  TEST_CASE("view shares storage and infers -1; bad views are refused") {
    Tensor t = Tensor::from_vector({2, 3}, {1, 2, 3, 4, 5, 6});
    Tensor v = t.view({3, -1});
    CHECK(v.shape() == Shape{3, 2});
    v.set({2, 1}, 60);
    CHECK(t.at({1, 2}) == 60);
    CHECK_THROWS_AS(t.view({4, -1}), Error);
    CHECK_THROWS_AS(t.view({-1, -1}), Error);
  }

  TEST_CASE("clone is deep, to() converts dtype, copy_ checks sizes") {
    Tensor t = Tensor::from_vector({2, 2}, {1, 2, 3, 4});
    Tensor c = t.clone();
    c.set({0, 0}, 9);
    CHECK(t.at({0, 0}) == 1);
    Tensor d = t.to(DType::F64);
    CHECK(d.dtype() == DType::F64);
    CHECK(d.at({1, 1}) == 4.0);
    CHECK_THROWS_AS(t.copy_(Tensor::zeros({3})), Error);
    CHECK_THROWS_AS(t.f64(), Error);
  }

  TEST_CASE("seeded random init is reproducible and has the asked moments") {
    Rng a(42), b(42);
    Tensor x = Tensor::randn({10000}, a, 1.0, 2.0);
    Tensor y = Tensor::randn({10000}, b, 1.0, 2.0);
    CHECK(x.to_vector() == y.to_vector());
    double mean = 0, var = 0;
    for (float v : x.to_vector()) mean += v;
    mean /= 10000;
    for (float v : x.to_vector()) var += (v - mean) * (v - mean);
    var /= 10000;
    CHECK(mean == doctest::Approx(1.0).epsilon(0.1));
    CHECK(var == doctest::Approx(4.0).epsilon(0.1));
    Rng c(7);
    Tensor u = Tensor::uniform({1000}, c, -0.5, 0.5);
    for (float v : u.to_vector()) CHECK((v >= -0.5f && v < 0.5f));
  }

  TEST_CASE("undefined tensors and wrong item() are clear errors") {
    Tensor none;
    CHECK_FALSE(none.defined());
    CHECK_THROWS_WITH_AS(none.shape(), "use of an undefined tensor", Error);
    CHECK_THROWS_AS(Tensor::zeros({2}).item(), Error);
    CHECK_THROWS_AS(Tensor::from_vector({3}, {1, 2}), Error);
  }
}

TEST_SUITE("autograd") {
  TEST_CASE("diamond graph: a tensor used twice gets both contributions") {
    // y = (x*w) + (x*x): dy/dx = w + 2x, dy/dw = x
    Tensor x = Tensor::from_vector_f64({3}, {1, -2, 3}).requires_grad_();
    Tensor w = Tensor::from_vector_f64({3}, {4, 5, 6}).requires_grad_();
    Tensor y = test_add(test_mul(x, w), test_mul(x, x));
    y.backward(Tensor::ones({3}, DType::F64));
    CHECK(x.grad().to_vector_f64() == std::vector<double>{4 + 2, 5 - 4, 6 + 6});
    CHECK(w.grad().to_vector_f64() == std::vector<double>{1, -2, 3});
  }

  TEST_CASE("gradients accumulate across backward calls until zero_grad") {
    Tensor x = Tensor::from_vector_f64({2}, {1, 2}).requires_grad_();
    Tensor seed = Tensor::ones({2}, DType::F64);
    test_mul(x, x).backward(seed);
    test_mul(x, x).backward(seed);
    CHECK(x.grad().to_vector_f64() == std::vector<double>{4, 8});
    x.zero_grad();
    CHECK_FALSE(x.grad().defined());
  }

  TEST_CASE("add's shared gradient is not aliased between two leaves") {
    Tensor a = Tensor::from_vector_f64({1}, {1}).requires_grad_();
    Tensor b = Tensor::from_vector_f64({1}, {2}).requires_grad_();
    test_add(a, b).backward(Tensor::ones({1}, DType::F64));
    Tensor ga = a.grad();
    add_into(ga, Tensor::ones({1}, DType::F64));
    CHECK(a.grad().item() == 2.0);
    CHECK(b.grad().item() == 1.0);
  }

  TEST_CASE("NoGradGuard records nothing; TraceGuard records without grads") {
    Tensor x = Tensor::from_vector_f64({2}, {1, 2}).requires_grad_();
    {
      NoGradGuard guard;
      Tensor y = test_mul(x, x);
      CHECK_FALSE(y.requires_grad());
      CHECK(y.grad_fn() == nullptr);
    }
    Tensor c = Tensor::from_vector_f64({2}, {1, 2});
    CHECK(test_mul(c, c).grad_fn() == nullptr);
    TraceGuard trace;
    CHECK(test_mul(c, c).grad_fn() != nullptr);
  }

  TEST_CASE("graph walk: topological order, op kinds, module names, shapes") {
    Tensor x = Tensor::from_vector_f64({2}, {1, 2}).requires_grad_();
    Tensor m;
    {
      ModuleScope scope("block.conv1");
      m = test_mul(x, x);
    }
    Tensor y = test_add(m, x);
    auto order = topological_order(y);
    REQUIRE(order.size() == 2);
    CHECK(order[0]->op == "test_mul");
    CHECK(order[0]->module == "block.conv1");
    CHECK(order[1]->op == "test_add");
    CHECK(order[1]->module == "");
    CHECK(order[1]->output_shape == Shape{2});
    CHECK(order[1]->inputs[0].grad_fn() == order[0]);
  }

  TEST_CASE("backward on a tensor without history is refused") {
    Tensor x = Tensor::from_vector_f64({1}, {1});
    CHECK_THROWS_AS(x.backward(), Error);
  }

  TEST_CASE("gradcheck harness detects a wrong backward") {
    auto wrong_square = [](const std::vector<Tensor>& in) {
      const Tensor& a = in[0];
      Tensor y = Tensor::empty(a.shape(), DType::F64);
      for (int64_t i = 0; i < a.numel(); ++i) y.f64()[i] = a.f64()[i] * a.f64()[i];
      record_op("wrong_square", y, {a}, [a](const Tensor& g) {
        Tensor ga = Tensor::empty(a.shape(), DType::F64);
        for (int64_t i = 0; i < a.numel(); ++i) ga.f64()[i] = g.f64()[i] * a.f64()[i];  // missing 2x
        return std::vector<Tensor>{ga};
      });
      return y;
    };
    Tensor a = Tensor::from_vector_f64({3}, {0.5, -1.5, 2.0}).requires_grad_();
    CHECK(prunus_test::gradcheck(wrong_square, {a}) > 0.4);
    auto right_square = [](const std::vector<Tensor>& in) { return test_mul(in[0], in[0]); };
    CHECK(prunus_test::gradcheck(right_square, {a}) < 1e-8);
  }
}

TEST_SUITE("rng") {
  TEST_CASE("below() stays in range and covers it") {
    Rng rng(3);
    std::vector<int> seen(7, 0);
    for (int i = 0; i < 7000; ++i) seen[rng.below(7)]++;
    for (int count : seen) CHECK(count > 800);
  }
}
