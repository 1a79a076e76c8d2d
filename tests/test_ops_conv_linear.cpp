// ops::conv2d and ops::linear: forward against naive loops written here,
// backward against finite differences (float64), float32 against float64,
// the recorded autograd node, and argument errors.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "gradcheck.h"
#include "prunus/autograd.h"
#include "prunus/ops.h"
#include "prunus/rng.h"
#include "prunus/tensor.h"

using namespace prunus;
using prunus_test::max_abs_difference;
using prunus_test::random_f64;
using prunus_test::gradcheck;
using prunus_test::max_relative_difference;

namespace {

struct ConvCase {
  int batch, channels, height, width, filters, kernel_h, kernel_w, stride, padding;
  bool with_bias;
};

// The cases every conv test runs: the brief's odd sizes with stride 2 and
// padding 1, a 1x1 conv, a 5x5 conv, a non-square kernel with stride 3, and a
// kernel that exactly fills the padded input.
const std::vector<ConvCase> kConvCases = {
    {3, 5, 7, 9, 4, 3, 3, 2, 1, true}, {3, 5, 7, 9, 6, 1, 1, 1, 0, true}, {2, 3, 7, 9, 3, 5, 5, 1, 2, false},
    {2, 3, 9, 7, 4, 3, 5, 3, 1, true}, {1, 2, 3, 5, 2, 5, 7, 1, 1, true},
};

// Zero-pads x explicitly, then slides the kernel: a different route from the
// library's bounds checks.
std::vector<double> naive_conv2d(const ConvCase& k, const std::vector<double>& x,
                                 const std::vector<double>& w, const std::vector<double>& b) {
  const int PH = k.height + 2 * k.padding, PW = k.width + 2 * k.padding;
  std::vector<double> padded(size_t(k.batch) * k.channels * PH * PW, 0.0);
  for (int n = 0; n < k.batch; ++n)
    for (int c = 0; c < k.channels; ++c)
      for (int h = 0; h < k.height; ++h)
        for (int v = 0; v < k.width; ++v)
          padded[((size_t(n) * k.channels + c) * PH + h + k.padding) * PW + v + k.padding] =
              x[((size_t(n) * k.channels + c) * k.height + h) * k.width + v];
  const int OH = (PH - k.kernel_h) / k.stride + 1, OW = (PW - k.kernel_w) / k.stride + 1;
  std::vector<double> y;
  for (int n = 0; n < k.batch; ++n)
    for (int f = 0; f < k.filters; ++f)
      for (int oh = 0; oh < OH; ++oh)
        for (int ow = 0; ow < OW; ++ow) {
          double acc = b.empty() ? 0.0 : b[f];
          for (int c = 0; c < k.channels; ++c)
            for (int i = 0; i < k.kernel_h; ++i)
              for (int j = 0; j < k.kernel_w; ++j)
                acc +=
                    padded[((size_t(n) * k.channels + c) * PH + oh * k.stride + i) * PW + ow * k.stride + j] *
                    w[((size_t(f) * k.channels + c) * k.kernel_h + i) * k.kernel_w + j];
          y.push_back(acc);
        }
  return y;
}

struct ConvInputs {
  Tensor x, weight, bias;
};

ConvInputs make_conv_inputs(const ConvCase& k, Rng& rng) {
  ConvInputs in;
  in.x = random_f64({k.batch, k.channels, k.height, k.width}, rng).requires_grad_();
  in.weight = random_f64({k.filters, k.channels, k.kernel_h, k.kernel_w}, rng).requires_grad_();
  if (k.with_bias) in.bias = random_f64({k.filters}, rng).requires_grad_();
  return in;
}

Shape conv_output_shape(const ConvCase& k) {
  return {k.batch, k.filters, (k.height + 2 * k.padding - k.kernel_h) / k.stride + 1,
          (k.width + 2 * k.padding - k.kernel_w) / k.stride + 1};
}

std::vector<double> naive_linear(const std::vector<double>& x, const std::vector<double>& w,
                                 const std::vector<double>& b, int batch, int in, int out) {
  std::vector<double> y(size_t(batch) * out);
  for (int n = 0; n < batch; ++n)
    for (int o = 0; o < out; ++o) {
      double acc = b.empty() ? 0.0 : b[o];
      for (int i = 0; i < in; ++i) acc += x[size_t(n) * in + i] * w[size_t(o) * in + i];
      y[size_t(n) * out + o] = acc;
    }
  return y;
}

}  // namespace

TEST_SUITE("ops") {
  TEST_CASE("conv2d forward matches a naive zero-padded convolution, float64 and float32") {
    Rng rng(11);
    for (const ConvCase& k : kConvCases) {
      CAPTURE(k.kernel_h);
      CAPTURE(k.kernel_w);
      CAPTURE(k.stride);
      const ConvInputs in = make_conv_inputs(k, rng);
      const std::vector<double> bias = in.bias.defined() ? in.bias.to_vector_f64() : std::vector<double>{};
      const std::vector<double> expected =
          naive_conv2d(k, in.x.to_vector_f64(), in.weight.to_vector_f64(), bias);
      Tensor y = ops::conv2d(in.x, in.weight, in.bias, k.stride, k.padding);
      CHECK(y.shape() == conv_output_shape(k));
      CHECK(y.dtype() == DType::F64);
      CHECK(max_abs_difference(y.to_vector_f64(), expected) < 1e-12);

      const Tensor bias32 = in.bias.defined() ? in.bias.to(DType::F32) : Tensor();
      Tensor y32 = ops::conv2d(in.x.to(DType::F32), in.weight.to(DType::F32), bias32, k.stride, k.padding);
      CHECK(y32.dtype() == DType::F32);
      CHECK(max_abs_difference(y32.to_vector_f64(), expected) < 1e-4);
    }
  }

  TEST_CASE("conv2d backward matches finite differences for x, weight and bias") {
    Rng rng(12);
    for (const ConvCase& k : kConvCases) {
      CAPTURE(k.kernel_h);
      CAPTURE(k.stride);
      const ConvInputs in = make_conv_inputs(k, rng);
      auto f = [&k](const std::vector<Tensor>& t) {
        return ops::conv2d(t[0], t[1], t.size() > 2 ? t[2] : Tensor(), k.stride, k.padding);
      };
      std::vector<Tensor> inputs{in.x, in.weight};
      if (k.with_bias) inputs.push_back(in.bias);
      CHECK(gradcheck(f, inputs) < 1e-6);
      for (const Tensor& t : inputs) CHECK(t.grad().defined());
    }
  }

  TEST_CASE("conv2d float32 forward and gradients agree with float64") {
    Rng rng(13);
    const ConvCase k = kConvCases[0];
    const ConvInputs in = make_conv_inputs(k, rng);
    Tensor x32 = in.x.to(DType::F32).requires_grad_();
    Tensor w32 = in.weight.to(DType::F32).requires_grad_();
    Tensor b32 = in.bias.to(DType::F32).requires_grad_();
    Tensor y64 = ops::conv2d(in.x, in.weight, in.bias, k.stride, k.padding);
    Tensor y32 = ops::conv2d(x32, w32, b32, k.stride, k.padding);
    CHECK(max_relative_difference(y32, y64) < 1e-5);
    Tensor seed = random_f64(y64.shape(), rng);
    y64.backward(seed);
    y32.backward(seed.to(DType::F32));
    CHECK(x32.grad().dtype() == DType::F32);
    CHECK(max_relative_difference(x32.grad(), in.x.grad()) < 1e-5);
    CHECK(max_relative_difference(w32.grad(), in.weight.grad()) < 1e-5);
    CHECK(max_relative_difference(b32.grad(), in.bias.grad()) < 1e-5);
    // The comparison can fail: a perturbed weight gives a visibly different result.
    Tensor w_perturbed = w32.detach().clone();
    w_perturbed.f32()[0] += 0.01f;
    CHECK(max_relative_difference(ops::conv2d(x32, w_perturbed, b32, k.stride, k.padding), y64) > 1e-3);
  }

  TEST_CASE("conv2d hand-computed 1-channel example with bias") {
    // x = 1..9 in a 3x3 plane, 2x2 all-ones kernel, stride 1, no padding, bias 0.5.
    Tensor x = Tensor::from_vector({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
    Tensor w = Tensor::from_vector({1, 1, 2, 2}, {1, 1, 1, 1});
    Tensor b = Tensor::from_vector({1}, {0.5f});
    Tensor y = ops::conv2d(x, w, b, 1, 0);
    CHECK(y.shape() == Shape{1, 1, 2, 2});
    CHECK(y.to_vector() == std::vector<float>{12.5f, 16.5f, 24.5f, 28.5f});
    // padding 1, stride 2: windows centred on the corners and the middle.
    Tensor z = ops::conv2d(x, Tensor::from_vector({1, 1, 3, 3}, std::vector<float>(9, 1.0f)), Tensor(), 2, 1);
    CHECK(z.to_vector() == std::vector<float>{12, 16, 24, 28});
  }

  TEST_CASE("conv2d records its node: op name, inputs, attributes, output shape") {
    Rng rng(14);
    const ConvCase k = kConvCases[0];
    const ConvInputs in = make_conv_inputs(k, rng);
    Tensor y = ops::conv2d(in.x, in.weight, in.bias, k.stride, k.padding);
    REQUIRE(y.grad_fn() != nullptr);
    const Node& node = *y.grad_fn();
    CHECK(node.op == "conv2d");
    REQUIRE(node.inputs.size() == 3);
    CHECK(node.inputs[0].same_as(in.x));
    CHECK(node.inputs[1].same_as(in.weight));
    CHECK(node.inputs[2].same_as(in.bias));
    CHECK(node.attributes.at("stride") == 2);
    CHECK(node.attributes.at("padding") == 1);
    CHECK(node.output_shape == conv_output_shape(k));

    Tensor no_bias = ops::conv2d(in.x, in.weight, Tensor(), 1, 0);
    REQUIRE(no_bias.grad_fn() != nullptr);
    CHECK(no_bias.grad_fn()->inputs.size() == 2);
    {
      NoGradGuard guard;
      CHECK(ops::conv2d(in.x, in.weight, in.bias, 1, 1).grad_fn() == nullptr);
    }
  }

  TEST_CASE("conv2d gives gradients only to inputs that require them") {
    Rng rng(15);
    Tensor x = random_f64({3, 5, 7, 9}, rng);  // a data batch: no gradient
    Tensor w = random_f64({4, 5, 3, 3}, rng).requires_grad_();
    Tensor b = random_f64({4}, rng);  // frozen bias
    Tensor y = ops::conv2d(x, w, b, 2, 1);
    y.backward(Tensor::ones(y.shape(), DType::F64));
    CHECK_FALSE(x.grad().defined());
    CHECK_FALSE(b.grad().defined());
    REQUIRE(w.grad().defined());
    // The weight gradient is still right when x gets none.
    Tensor w2 = w.detach().clone().requires_grad_();
    auto f = [&](const std::vector<Tensor>& t) { return ops::conv2d(x, t[0], b, 2, 1); };
    CHECK(gradcheck(f, {w2}) < 1e-6);
  }

  TEST_CASE("conv2d refuses bad arguments with clear errors") {
    Tensor x = Tensor::zeros({3, 5, 7, 9});
    Tensor w = Tensor::zeros({4, 5, 3, 3});
    CHECK_THROWS_WITH_AS(ops::conv2d(Tensor::zeros({5, 7, 9}), w, Tensor(), 1, 0),
                         doctest::Contains("conv2d: input x must be 4-d"), Error);
    CHECK_THROWS_WITH_AS(ops::conv2d(x, Tensor::zeros({4, 5, 3}), Tensor(), 1, 0),
                         doctest::Contains("weight must be 4-d"), Error);
    CHECK_THROWS_WITH_AS(ops::conv2d(x, Tensor::zeros({4, 3, 3, 3}), Tensor(), 1, 0),
                         doctest::Contains("has 5 channels but weight [4, 3, 3, 3] expects 3"), Error);
    CHECK_THROWS_WITH_AS(
        ops::conv2d(Tensor::zeros({1, 5, 3, 3}), Tensor::zeros({4, 5, 7, 7}), Tensor(), 1, 1),
        doctest::Contains("kernel 7x7 is larger than the padded input 5x5"), Error);
    CHECK_NOTHROW(ops::conv2d(Tensor::zeros({1, 5, 3, 3}), Tensor::zeros({4, 5, 7, 7}), Tensor(), 1, 2));
    CHECK_THROWS_WITH_AS(ops::conv2d(x, w, Tensor(), 0, 1), doctest::Contains("stride must be >= 1, got 0"),
                         Error);
    CHECK_THROWS_WITH_AS(ops::conv2d(x, w, Tensor(), 1, -1), doctest::Contains("padding must be >= 0"),
                         Error);
    CHECK_THROWS_WITH_AS(ops::conv2d(x, w, Tensor::zeros({5}), 1, 1), doctest::Contains("bias must be [4]"),
                         Error);
    CHECK_THROWS_WITH_AS(ops::conv2d(x, w.to(DType::F64), Tensor(), 1, 1), doctest::Contains("dtypes"),
                         Error);
    CHECK_THROWS_WITH_AS(ops::conv2d(x, w, Tensor::zeros({4}, DType::F64), 1, 1), doctest::Contains("dtypes"),
                         Error);
    CHECK_THROWS_WITH_AS(ops::conv2d(x, Tensor(), Tensor(), 1, 1),
                         doctest::Contains("weight is an undefined"), Error);
    CHECK_THROWS_WITH_AS(ops::conv2d(Tensor::zeros({0, 5, 7, 9}), w, Tensor(), 1, 1),
                         doctest::Contains("needs every dimension in [1,"), Error);
  }

  TEST_CASE("linear forward matches naive loops, with and without bias, float64 and float32") {
    Rng rng(21);
    const int batch = 3, in = 7, out = 5;
    Tensor x = random_f64({batch, in}, rng), w = random_f64({out, in}, rng), b = random_f64({out}, rng);
    for (bool with_bias : {true, false}) {
      CAPTURE(with_bias);
      const Tensor bias = with_bias ? b : Tensor();
      const std::vector<double> expected =
          naive_linear(x.to_vector_f64(), w.to_vector_f64(),
                       with_bias ? b.to_vector_f64() : std::vector<double>{}, batch, in, out);
      Tensor y = ops::linear(x, w, bias);
      CHECK(y.shape() == Shape{batch, out});
      CHECK(max_abs_difference(y.to_vector_f64(), expected) < 1e-12);
      Tensor y32 = ops::linear(x.to(DType::F32), w.to(DType::F32), with_bias ? b.to(DType::F32) : Tensor());
      CHECK(y32.dtype() == DType::F32);
      CHECK(max_abs_difference(y32.to_vector_f64(), expected) < 1e-5);
    }
    // A single sample and a single output feature.
    Tensor one = ops::linear(Tensor::from_vector({1, 3}, {1, 2, 3}), Tensor::from_vector({1, 3}, {4, -5, 6}),
                             Tensor::from_vector({1}, {0.25f}));
    CHECK(one.to_vector() == std::vector<float>{12.25f});
  }

  TEST_CASE("linear backward matches finite differences for x, weight and bias") {
    Rng rng(22);
    for (bool with_bias : {true, false}) {
      CAPTURE(with_bias);
      Tensor x = random_f64({3, 9}, rng).requires_grad_();
      Tensor w = random_f64({5, 9}, rng).requires_grad_();
      std::vector<Tensor> inputs{x, w};
      if (with_bias) inputs.push_back(random_f64({5}, rng).requires_grad_());
      auto f = [](const std::vector<Tensor>& t) {
        return ops::linear(t[0], t[1], t.size() > 2 ? t[2] : Tensor());
      };
      CHECK(gradcheck(f, inputs) < 1e-6);
      for (const Tensor& t : inputs) CHECK(t.grad().defined());
    }
  }

  TEST_CASE("linear float32 gradients agree with float64; node records x, weight, bias") {
    Rng rng(23);
    Tensor x = random_f64({3, 11}, rng).requires_grad_();
    Tensor w = random_f64({7, 11}, rng).requires_grad_();
    Tensor b = random_f64({7}, rng).requires_grad_();
    Tensor x32 = x.to(DType::F32).requires_grad_(), w32 = w.to(DType::F32).requires_grad_();
    Tensor b32 = b.to(DType::F32).requires_grad_();
    Tensor y = ops::linear(x, w, b), y32 = ops::linear(x32, w32, b32);
    CHECK(max_relative_difference(y32, y) < 1e-5);
    REQUIRE(y.grad_fn() != nullptr);
    CHECK(y.grad_fn()->op == "linear");
    REQUIRE(y.grad_fn()->inputs.size() == 3);
    CHECK(y.grad_fn()->inputs[1].same_as(w));
    Tensor seed = random_f64(y.shape(), rng);
    y.backward(seed);
    y32.backward(seed.to(DType::F32));
    CHECK(max_relative_difference(x32.grad(), x.grad()) < 1e-5);
    CHECK(max_relative_difference(w32.grad(), w.grad()) < 1e-5);
    CHECK(max_relative_difference(b32.grad(), b.grad()) < 1e-5);
    // Only parameters: a data input gets no gradient.
    Tensor data = random_f64({3, 11}, rng);
    w.zero_grad();
    ops::linear(data, w, Tensor()).backward(Tensor::ones({3, 7}, DType::F64));
    CHECK_FALSE(data.grad().defined());
    CHECK(w.grad().defined());
  }

  TEST_CASE("linear refuses bad arguments with clear errors") {
    Tensor x = Tensor::zeros({3, 9}), w = Tensor::zeros({5, 9});
    CHECK_THROWS_WITH_AS(ops::linear(Tensor::zeros({3, 3, 3}), w, Tensor()),
                         doctest::Contains("linear: input x must be 2-d"), Error);
    CHECK_THROWS_WITH_AS(ops::linear(x, Tensor::zeros({5, 9, 1}), Tensor()),
                         doctest::Contains("weight must be 2-d"), Error);
    CHECK_THROWS_WITH_AS(ops::linear(x, Tensor::zeros({5, 8}), Tensor()),
                         doctest::Contains("has 9 features but weight [5, 8] expects 8"), Error);
    CHECK_THROWS_WITH_AS(ops::linear(x, w, Tensor::zeros({9})), doctest::Contains("bias must be [5]"), Error);
    CHECK_THROWS_WITH_AS(ops::linear(x, w.to(DType::F64), Tensor()), doctest::Contains("dtypes"), Error);
    CHECK_THROWS_WITH_AS(ops::linear(Tensor(), w, Tensor()), doctest::Contains("x is an undefined"), Error);
  }
}
