// Batch normalization: ops::batchnorm2d / batchnorm1d and the kernels behind
// them, against naive loops written here, hand-computed values, finite
// differences (float64) and the reference kernels (fast float32 versions).
#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>
#include <vector>

#include "gradcheck.h"
#include "prunus/autograd.h"
#include "prunus/kernels/batchnorm.h"
#include "prunus/ops.h"
#include "prunus/rng.h"

using namespace prunus;
using prunus_test::max_abs_difference;
using prunus_test::random_f64;
using prunus_test::gradcheck;
using prunus_test::max_relative_difference;

namespace {

// Per-channel statistics and output of training-mode BN, computed directly
// from the definition on x viewed as [N, C, S].
struct NaiveBatchNorm {
  std::vector<double> y, mean, biased_var;
};

NaiveBatchNorm naive_batchnorm_train(const std::vector<double>& x, int64_t N, int64_t C, int64_t S,
                                     const std::vector<double>& gamma, const std::vector<double>& beta, double eps) {
  NaiveBatchNorm out;
  out.y.resize(x.size());
  for (int64_t c = 0; c < C; ++c) {
    std::vector<double> values;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < S; ++i) values.push_back(x[(n * C + c) * S + i]);
    double mean = 0;
    for (double v : values) mean += v;
    mean /= values.size();
    double var = 0;
    for (double v : values) var += (v - mean) * (v - mean);
    var /= values.size();
    out.mean.push_back(mean);
    out.biased_var.push_back(var);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < S; ++i) {
        const int64_t k = (n * C + c) * S + i;
        out.y[k] = gamma[c] * (x[k] - mean) / std::sqrt(var + eps) + beta[c];
      }
  }
  return out;
}

struct BatchNormParams {
  Tensor gamma, beta, running_mean, running_var;
};

BatchNormParams random_params(int64_t C, Rng& rng, DType dtype) {
  return {Tensor::uniform({C}, rng, 0.5, 2.0, dtype), Tensor::uniform({C}, rng, -1.0, 1.0, dtype),
          Tensor::uniform({C}, rng, -0.5, 0.5, dtype), Tensor::uniform({C}, rng, 0.5, 1.5, dtype)};
}

}  // namespace

TEST_SUITE("ops") {
  TEST_CASE("batchnorm2d train forward matches a naive computation in float64 and float32") {
    Rng rng(11);
    const int64_t N = 3, C = 5, H = 7, W = 9;
    Tensor x = Tensor::randn({N, C, H, W}, rng, 2.0, 3.0, DType::F64);
    BatchNormParams p = random_params(C, rng, DType::F64);
    const double eps = 1e-5;
    NaiveBatchNorm want =
        naive_batchnorm_train(x.to_vector_f64(), N, C, H * W, p.gamma.to_vector_f64(), p.beta.to_vector_f64(), eps);
    Tensor y64 = ops::batchnorm2d(x, p.gamma, p.beta, p.running_mean, p.running_var, true, 0.1, eps);
    CHECK(y64.shape() == x.shape());
    CHECK(max_abs_difference(y64.to_vector_f64(), want.y) < 1e-12);

    BatchNormParams p32{p.gamma.to(DType::F32), p.beta.to(DType::F32), p.running_mean.to(DType::F32),
                        p.running_var.to(DType::F32)};
    Tensor y32 =
        ops::batchnorm2d(x.to(DType::F32), p32.gamma, p32.beta, p32.running_mean, p32.running_var, true, 0.1, eps);
    CHECK(y32.dtype() == DType::F32);
    CHECK(max_abs_difference(y32.to_vector_f64(), want.y) < 2e-5);
    // Normalized output: per channel, mean beta and standard deviation ~gamma.
    const auto y = y64.to_vector_f64();
    for (int64_t c = 0; c < C; ++c) {
      double m = 0, v = 0;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t i = 0; i < H * W; ++i) m += y[(n * C + c) * H * W + i];
      m /= N * H * W;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t i = 0; i < H * W; ++i) v += std::pow(y[(n * C + c) * H * W + i] - m, 2);
      v /= N * H * W;
      CHECK(m == doctest::Approx(p.beta.at({c})).epsilon(1e-9));
      CHECK(std::sqrt(v) == doctest::Approx(p.gamma.at({c})).epsilon(1e-5));
    }
  }

  TEST_CASE("batchnorm2d train updates running stats like PyTorch (hand-computed)") {
    // Channel 0 holds {1, 2, 3, 6}: mean 3, biased var 3.5, unbiased 14/3.
    // Channel 1 holds {-1, -1, -1, 3}: mean 0, biased var 3, unbiased 4.
    for (DType dtype : {DType::F64, DType::F32}) {
      CAPTURE(dtype_name(dtype));
      Tensor x = Tensor::from_vector_f64({2, 2, 1, 2}, {1, 2, -1, -1, 3, 6, -1, 3}).to(dtype);
      Tensor gamma = Tensor::from_vector_f64({2}, {2, 0.5}).to(dtype);
      Tensor beta = Tensor::from_vector_f64({2}, {1, -1}).to(dtype);
      Tensor running_mean = Tensor::from_vector_f64({2}, {0.5, 1}).to(dtype);
      Tensor running_var = Tensor::from_vector_f64({2}, {2, 1}).to(dtype);
      const double eps = 1e-5, momentum = 0.1;
      Tensor y = ops::batchnorm2d(x, gamma, beta, running_mean, running_var, true, momentum, eps);
      CHECK(running_mean.at({0}) == doctest::Approx(0.9 * 0.5 + 0.1 * 3.0).epsilon(1e-6));
      CHECK(running_mean.at({1}) == doctest::Approx(0.9 * 1.0 + 0.1 * 0.0).epsilon(1e-6));
      CHECK(running_var.at({0}) == doctest::Approx(0.9 * 2.0 + 0.1 * 14.0 / 3.0).epsilon(1e-6));
      CHECK(running_var.at({1}) == doctest::Approx(0.9 * 1.0 + 0.1 * 4.0).epsilon(1e-6));
      // Normalization uses the biased variance.
      CHECK(y.at({1, 0, 0, 1}) == doctest::Approx(2.0 * (6 - 3) / std::sqrt(3.5 + eps) + 1).epsilon(1e-6));
      CHECK(y.at({0, 1, 0, 0}) == doctest::Approx(0.5 * (-1 - 0) / std::sqrt(3.0 + eps) - 1).epsilon(1e-6));
      // A second step moves the running stats again from where they are.
      ops::batchnorm2d(x, gamma, beta, running_mean, running_var, true, momentum, eps);
      CHECK(running_mean.at({0}) == doctest::Approx(0.9 * (0.9 * 0.5 + 0.3) + 0.3).epsilon(1e-6));
      // Under NoGradGuard (evaluation of a model left in train mode) they still update.
      NoGradGuard no_grad;
      ops::batchnorm2d(x, gamma, beta, running_mean, running_var, true, 1.0, eps);
      CHECK(running_mean.at({0}) == doctest::Approx(3.0).epsilon(1e-6));
      CHECK(running_var.at({1}) == doctest::Approx(4.0).epsilon(1e-6));
    }
  }

  TEST_CASE("batchnorm2d eval normalizes with the running stats and leaves them unchanged") {
    for (DType dtype : {DType::F64, DType::F32}) {
      CAPTURE(dtype_name(dtype));
      Rng rng(5);
      Tensor x = Tensor::randn({3, 2, 5, 3}, rng, 0.0, 2.0, dtype);
      Tensor gamma = Tensor::from_vector_f64({2}, {1.5, 3}).to(dtype);
      Tensor beta = Tensor::from_vector_f64({2}, {0.25, 1}).to(dtype);
      Tensor running_mean = Tensor::from_vector_f64({2}, {1, -2}).to(dtype);
      Tensor running_var = Tensor::from_vector_f64({2}, {4, 0.25}).to(dtype);
      const double eps = 1e-3;
      Tensor y = ops::batchnorm2d(x, gamma, beta, running_mean, running_var, false, 0.1, eps);
      CHECK(running_mean.to_vector_f64() == std::vector<double>{1, -2});
      CHECK(running_var.to_vector_f64() == std::vector<double>{4, 0.25});
      for (int64_t n = 0; n < 3; ++n)
        for (int64_t h = 0; h < 5; ++h)
          for (int64_t w = 0; w < 3; ++w) {
            CHECK(y.at({n, 0, h, w}) ==
                  doctest::Approx(1.5 * (x.at({n, 0, h, w}) - 1) / std::sqrt(4 + eps) + 0.25).epsilon(1e-6));
            CHECK(y.at({n, 1, h, w}) ==
                  doctest::Approx(3 * (x.at({n, 1, h, w}) + 2) / std::sqrt(0.25 + eps) + 1).epsilon(1e-6));
          }
      // Eval is per sample: a batch of one (invalid in training) gives the same rows.
      const auto all = x.to_vector_f64();
      Tensor first = Tensor::from_vector_f64({1, 2, 5, 3}, std::vector<double>(all.begin(), all.begin() + 30));
      Tensor y_first = ops::batchnorm2d(first.to(dtype), gamma, beta, running_mean, running_var, false, 0.1, eps);
      const auto y_all = y.to_vector_f64(), y_one = y_first.to_vector_f64();
      CHECK(std::vector<double>(y_all.begin(), y_all.begin() + 30) == y_one);
    }
  }

  TEST_CASE("batchnorm2d train-mode gradients of x, gamma and beta match finite differences") {
    Rng rng(21);
    Tensor x = Tensor::randn({3, 5, 7, 9}, rng, 1.0, 2.0, DType::F64).requires_grad_();
    BatchNormParams p = random_params(5, rng, DType::F64);
    p.gamma.requires_grad_();
    p.beta.requires_grad_();
    auto f = [&p](const std::vector<Tensor>& in) {
      return ops::batchnorm2d(in[0], in[1], in[2], p.running_mean, p.running_var, true, 0.1, 1e-5);
    };
    CHECK(gradcheck(f, {x, p.gamma, p.beta}) < 1e-6);
    // The gradient of x alone, with gamma and beta frozen.
    Tensor frozen_gamma = p.gamma.detach(), frozen_beta = p.beta.detach();
    auto only_x = [&](const std::vector<Tensor>& in) {
      return ops::batchnorm2d(in[0], frozen_gamma, frozen_beta, p.running_mean, p.running_var, true, 0.1, 1e-5);
    };
    CHECK(gradcheck(only_x, {x}) < 1e-6);
  }

  TEST_CASE("batchnorm2d eval-mode gradients match finite differences") {
    Rng rng(22);
    Tensor x = Tensor::randn({3, 5, 3, 7}, rng, 0.0, 1.0, DType::F64).requires_grad_();
    BatchNormParams p = random_params(5, rng, DType::F64);
    p.gamma.requires_grad_();
    p.beta.requires_grad_();
    auto f = [&p](const std::vector<Tensor>& in) {
      return ops::batchnorm2d(in[0], in[1], in[2], p.running_mean, p.running_var, false, 0.1, 1e-5);
    };
    CHECK(gradcheck(f, {x, p.gamma, p.beta}) < 1e-6);
  }

  TEST_CASE("batchnorm1d matches a naive computation in train and eval, with running stats") {
    Rng rng(31);
    const int64_t N = 7, C = 5;
    for (DType dtype : {DType::F64, DType::F32}) {
      CAPTURE(dtype_name(dtype));
      Tensor x = Tensor::randn({N, C}, rng, -1.0, 2.0, dtype);
      BatchNormParams p = random_params(C, rng, dtype);
      const auto rm0 = p.running_mean.to_vector_f64(), rv0 = p.running_var.to_vector_f64();
      const double eps = 1e-5, momentum = 0.2;
      const double tolerance = dtype == DType::F64 ? 1e-12 : 2e-5;
      NaiveBatchNorm want =
          naive_batchnorm_train(x.to_vector_f64(), N, C, 1, p.gamma.to_vector_f64(), p.beta.to_vector_f64(), eps);
      Tensor y = ops::batchnorm1d(x, p.gamma, p.beta, p.running_mean, p.running_var, true, momentum, eps);
      CHECK(max_abs_difference(y.to_vector_f64(), want.y) < tolerance);
      for (int64_t c = 0; c < C; ++c) {
        CHECK(p.running_mean.at({c}) == doctest::Approx((1 - momentum) * rm0[c] + momentum * want.mean[c]));
        CHECK(p.running_var.at({c}) ==
              doctest::Approx((1 - momentum) * rv0[c] + momentum * want.biased_var[c] * N / (N - 1)));
      }
      Tensor e = ops::batchnorm1d(x, p.gamma, p.beta, p.running_mean, p.running_var, false, momentum, eps);
      for (int64_t n = 0; n < N; ++n)
        for (int64_t c = 0; c < C; ++c)
          CHECK(e.at({n, c}) == doctest::Approx(p.gamma.at({c}) * (x.at({n, c}) - p.running_mean.at({c})) /
                                                    std::sqrt(p.running_var.at({c}) + eps) +
                                                p.beta.at({c}))
                                    .epsilon(1e-5));
    }
  }

  TEST_CASE("batchnorm1d gradients match finite differences in train and eval") {
    Rng rng(32);
    Tensor x = Tensor::randn({9, 5}, rng, 0.5, 1.5, DType::F64).requires_grad_();
    BatchNormParams p = random_params(5, rng, DType::F64);
    p.gamma.requires_grad_();
    p.beta.requires_grad_();
    for (bool training : {true, false}) {
      CAPTURE(training);
      auto f = [&](const std::vector<Tensor>& in) {
        return ops::batchnorm1d(in[0], in[1], in[2], p.running_mean, p.running_var, training, 0.1, 1e-5);
      };
      CHECK(gradcheck(f, {x, p.gamma, p.beta}) < 1e-6);
    }
  }

  TEST_CASE("batchnorm fast float32 kernels match the reference kernels") {
    using namespace kernels;
    // Odd sizes, BatchNorm1d (spatial 1, transposed internally), and sizes past the threading threshold.
    const std::vector<BatchNormShape> shapes = {{3, 5, 63}, {7, 5, 1}, {1, 3, 11}, {2, 70, 289}, {67, 600, 1}};
    Rng rng(41);
    for (const BatchNormShape& s : shapes) {
      CAPTURE(s.batch);
      CAPTURE(s.channels);
      CAPTURE(s.spatial);
      const int64_t C = s.channels;
      // A large mean relative to the spread checks the variance is computed stably.
      Tensor x = Tensor::randn({s.numel()}, rng, 5.0, 2.0), dy = Tensor::randn({s.numel()}, rng);
      BatchNormParams p = random_params(C, rng, DType::F32);
      Tensor rm_ref = p.running_mean.clone(), rv_ref = p.running_var.clone();
      Tensor rm_fast = p.running_mean.clone(), rv_fast = p.running_var.clone();
      Tensor y_ref = Tensor::empty({s.numel()}), y_fast = Tensor::empty({s.numel()});
      Tensor mean_ref = Tensor::empty({C}), inv_ref = Tensor::empty({C});
      Tensor mean_fast = Tensor::empty({C}), inv_fast = Tensor::empty({C});
      const float *gp = p.gamma.f32(), *bp = p.beta.f32();
      if (s.per_channel() > 1) {
        batchnorm_forward_train_reference<float>(s, x.f32(), gp, bp, 1e-5, 0.1, rm_ref.f32(), rv_ref.f32(), y_ref.f32(),
                                                 mean_ref.f32(), inv_ref.f32());
        batchnorm_forward_train(s, x.f32(), gp, bp, 1e-5, 0.1, rm_fast.f32(), rv_fast.f32(), y_fast.f32(),
                                mean_fast.f32(), inv_fast.f32());
        CHECK(max_relative_difference(y_fast, y_ref) < 2e-5);
        CHECK(max_relative_difference(mean_fast, mean_ref) < 1e-6);
        CHECK(max_relative_difference(inv_fast, inv_ref) < 1e-5);
        CHECK(max_relative_difference(rm_fast, rm_ref) < 1e-6);
        CHECK(max_relative_difference(rv_fast, rv_ref) < 1e-5);
      }
      batchnorm_forward_eval_reference<float>(s, x.f32(), gp, bp, p.running_mean.f32(), p.running_var.f32(), 1e-5,
                                              y_ref.f32());
      batchnorm_forward_eval(s, x.f32(), gp, bp, p.running_mean.f32(), p.running_var.f32(), 1e-5, y_fast.f32());
      CHECK(max_relative_difference(y_fast, y_ref) < 2e-5);
      // Backward, both modes, from the same saved statistics.
      Tensor dx_ref = Tensor::empty({s.numel()}), dx_fast = Tensor::empty({s.numel()});
      Tensor dg_ref = Tensor::empty({C}), db_ref = Tensor::empty({C});
      Tensor dg_fast = Tensor::empty({C}), db_fast = Tensor::empty({C});
      for (bool training : {true, false}) {
        CAPTURE(training);
        if (training && s.per_channel() < 2) continue;
        // Eval backward takes any per-channel constants; the running stats serve.
        Tensor mean = training ? mean_ref : p.running_mean, inv = training ? inv_ref : p.running_var;
        if (training) {
          batchnorm_backward_train_reference<float>(s, x.f32(), dy.f32(), gp, mean.f32(), inv.f32(), dx_ref.f32(),
                                                    dg_ref.f32(), db_ref.f32());
          batchnorm_backward_train(s, x.f32(), dy.f32(), gp, mean.f32(), inv.f32(), dx_fast.f32(), dg_fast.f32(),
                                   db_fast.f32());
        } else {
          batchnorm_backward_eval_reference<float>(s, x.f32(), dy.f32(), gp, mean.f32(), inv.f32(), dx_ref.f32(),
                                                   dg_ref.f32(), db_ref.f32());
          batchnorm_backward_eval(s, x.f32(), dy.f32(), gp, mean.f32(), inv.f32(), dx_fast.f32(), dg_fast.f32(),
                                  db_fast.f32());
        }
        // dx is relative to its typical size: it is a difference of terms of order |dy|.
        CHECK(max_relative_difference(dx_fast, dx_ref) < 5e-5);
        CHECK(max_relative_difference(dg_fast, dg_ref) < 5e-5);
        CHECK(max_relative_difference(db_fast, db_ref) < 5e-5);
      }
    }
  }

  TEST_CASE("batchnorm fast kernels give bit-identical results with 1 and 2 threads") {
    using namespace kernels;
    const BatchNormShape s{5, 33, 401};  // 66165 elements: threaded
    Rng rng(43);
    Tensor x = Tensor::randn({s.numel()}, rng, 1.0, 3.0), dy = Tensor::randn({s.numel()}, rng);
    BatchNormParams p = random_params(s.channels, rng, DType::F32);
    auto run = [&](int threads) {
      const int previous = omp_get_max_threads();
      omp_set_num_threads(threads);
      Tensor y = Tensor::empty({s.numel()}), dx = Tensor::empty({s.numel()});
      Tensor mean = Tensor::empty({s.channels}), inv = Tensor::empty({s.channels});
      Tensor dg = Tensor::empty({s.channels}), db = Tensor::empty({s.channels});
      Tensor rm = p.running_mean.clone(), rv = p.running_var.clone();
      batchnorm_forward_train(s, x.f32(), p.gamma.f32(), p.beta.f32(), 1e-5, 0.1, rm.f32(), rv.f32(), y.f32(),
                              mean.f32(), inv.f32());
      batchnorm_backward_train(s, x.f32(), dy.f32(), p.gamma.f32(), mean.f32(), inv.f32(), dx.f32(), dg.f32(),
                               db.f32());
      omp_set_num_threads(previous);
      std::vector<float> all = y.to_vector();
      for (const Tensor& t : {dx, dg, db, rm, rv}) {
        const auto v = t.to_vector();
        all.insert(all.end(), v.begin(), v.end());
      }
      return all;
    };
    CHECK(run(1) == run(2));
  }

  TEST_CASE("batchnorm float32 ops agree with float64 ops: output, running stats, gradients") {
    Rng rng(51);
    for (int rank : {4, 2}) {
      CAPTURE(rank);
      const Shape shape = rank == 4 ? Shape{4, 6, 9, 11} : Shape{13, 6};
      Tensor x64 = Tensor::randn(shape, rng, 0.5, 2.0, DType::F64);
      Tensor seed64 = Tensor::randn(shape, rng, 0.0, 1.0, DType::F64);
      BatchNormParams p64 = random_params(6, rng, DType::F64);
      BatchNormParams p32{p64.gamma.to(DType::F32), p64.beta.to(DType::F32), p64.running_mean.to(DType::F32),
                          p64.running_var.to(DType::F32)};
      Tensor x32 = x64.to(DType::F32);
      for (BatchNormParams* p : {&p64, &p32}) {
        p->gamma.requires_grad_();
        p->beta.requires_grad_();
      }
      x64.requires_grad_();
      x32.requires_grad_();
      for (bool training : {true, false}) {
        CAPTURE(training);
        auto bn = [rank, training](const Tensor& x, BatchNormParams& p) {
          return rank == 4 ? ops::batchnorm2d(x, p.gamma, p.beta, p.running_mean, p.running_var, training)
                           : ops::batchnorm1d(x, p.gamma, p.beta, p.running_mean, p.running_var, training);
        };
        Tensor y64 = bn(x64, p64), y32 = bn(x32, p32);
        CHECK(max_relative_difference(y32, y64) < 2e-5);
        CHECK(max_relative_difference(p32.running_mean, p64.running_mean) < 1e-6);
        CHECK(max_relative_difference(p32.running_var, p64.running_var) < 1e-6);
        for (Tensor* t : {&x64, &x32, &p64.gamma, &p32.gamma, &p64.beta, &p32.beta}) t->zero_grad();
        y64.backward(seed64);
        y32.backward(seed64.to(DType::F32));
        CHECK(max_relative_difference(x32.grad(), x64.grad()) < 5e-5);
        CHECK(max_relative_difference(p32.gamma.grad(), p64.gamma.grad()) < 5e-5);
        CHECK(max_relative_difference(p32.beta.grad(), p64.beta.grad()) < 5e-5);
      }
    }
  }

  TEST_CASE("batchnorm ops refuse bad arguments with clear errors") {
    Rng rng(61);
    Tensor x = Tensor::randn({3, 5, 7, 9}, rng);
    BatchNormParams p = random_params(5, rng, DType::F32);
    CHECK_THROWS_WITH_AS(
        ops::batchnorm2d(Tensor::randn({3, 5}, rng), p.gamma, p.beta, p.running_mean, p.running_var, true),
        doctest::Contains("batchnorm2d: input has shape [3, 5], expected [N,C,H,W]"), Error);
    CHECK_THROWS_WITH_AS(ops::batchnorm1d(x, p.gamma, p.beta, p.running_mean, p.running_var, true),
                         doctest::Contains("batchnorm1d: input has shape [3, 5, 7, 9], expected [N,C]"), Error);
    Tensor wrong_gamma = Tensor::ones({4});
    CHECK_THROWS_WITH_AS(ops::batchnorm2d(x, wrong_gamma, p.beta, p.running_mean, p.running_var, true),
                         doctest::Contains("gamma (weight) has shape [4], expected [5]"), Error);
    Tensor gamma64 = p.gamma.to(DType::F64);
    CHECK_THROWS_WITH_AS(ops::batchnorm2d(x, gamma64, p.beta, p.running_mean, p.running_var, true),
                         doctest::Contains("gamma (weight) is float64 but the input is float32"), Error);
    Tensor none;
    CHECK_THROWS_WITH_AS(ops::batchnorm2d(x, p.gamma, p.beta, none, none, false),
                         doctest::Contains("running_mean is undefined"), Error);
    CHECK_NOTHROW(ops::batchnorm2d(x, p.gamma, p.beta, none, none, true));  // training without running stats
    Tensor single = Tensor::randn({1, 5, 1, 1}, rng);
    CHECK_THROWS_WITH_AS(ops::batchnorm2d(single, p.gamma, p.beta, p.running_mean, p.running_var, true),
                         doctest::Contains("more than one value per channel"), Error);
    CHECK_NOTHROW(ops::batchnorm2d(single, p.gamma, p.beta, p.running_mean, p.running_var, false));
    CHECK_THROWS_WITH_AS(ops::batchnorm2d(x, p.gamma, p.beta, p.running_mean, p.running_var, true, 1.5),
                         doctest::Contains("momentum is 1.5"), Error);
    CHECK_THROWS_WITH_AS(ops::batchnorm2d(x, p.gamma, p.beta, p.running_mean, p.running_var, true, 0.1, -1.0),
                         doctest::Contains("eps is -1"), Error);
  }

  TEST_CASE("batchnorm records its node: name, inputs x/gamma/beta, attributes") {
    Rng rng(71);
    Tensor x = Tensor::randn({3, 5, 7, 9}, rng);
    BatchNormParams p = random_params(5, rng, DType::F32);
    p.gamma.requires_grad_();
    p.beta.requires_grad_();
    Tensor y;
    {
      ModuleScope scope("layer1.0.bn1");
      y = ops::batchnorm2d(x, p.gamma, p.beta, p.running_mean, p.running_var, true, 0.1, 1e-5);
    }
    REQUIRE(y.grad_fn() != nullptr);
    const Node& node = *y.grad_fn();
    CHECK(node.op == "batchnorm2d");
    CHECK(node.module == "layer1.0.bn1");
    REQUIRE(node.inputs.size() == 3);
    CHECK(node.inputs[0].same_as(x));
    CHECK(node.inputs[1].same_as(p.gamma));
    CHECK(node.inputs[2].same_as(p.beta));
    CHECK(node.attributes.at("training") == 1.0);
    CHECK(node.attributes.at("momentum") == doctest::Approx(0.1));
    Tensor y1 = ops::batchnorm1d(Tensor::randn({3, 5}, rng), p.gamma, p.beta, p.running_mean, p.running_var, false);
    REQUIRE(y1.grad_fn() != nullptr);
    CHECK(y1.grad_fn()->op == "batchnorm1d");
    CHECK(y1.grad_fn()->attributes.at("training") == 0.0);
    NoGradGuard no_grad;
    CHECK(ops::batchnorm2d(x, p.gamma, p.beta, p.running_mean, p.running_var, false).grad_fn() == nullptr);
  }
}
