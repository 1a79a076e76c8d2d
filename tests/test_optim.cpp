#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "prunus/optim/lr_schedule.h"
#include "prunus/optim/sgd.h"
#include "prunus/rng.h"
#include "prunus/tensor.h"

using namespace prunus;
using namespace prunus::optim;

namespace {

Tensor param_f64(const std::vector<double>& values) {
  return Tensor::from_vector_f64({static_cast<int64_t>(values.size())}, values).requires_grad_();
}

void give_grad_f64(Tensor& param, const std::vector<double>& values) {
  param.set_grad(Tensor::from_vector_f64(param.shape(), values));
}

ParamGroup group(const std::string& name, std::vector<Tensor> params, double momentum, bool nesterov = false,
                 double weight_decay = 0.0, double lr_scale = 1.0) {
  ParamGroup g;
  g.name = name;
  g.params = std::move(params);
  g.momentum = momentum;
  g.nesterov = nesterov;
  g.weight_decay = weight_decay;
  g.lr_scale = lr_scale;
  return g;
}

bool bit_identical(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() &&
         std::memcmp(a.raw_data(), b.raw_data(), a.numel() * dtype_size(a.dtype())) == 0;
}

// A 0/1 mask with roughly `keep` of the elements kept.
Tensor random_mask(const Shape& shape, Rng& rng, double keep) {
  Tensor mask = Tensor::zeros(shape);
  for (int64_t i = 0; i < mask.numel(); ++i) mask.f32()[i] = rng.uniform() < keep ? 1.0f : 0.0f;
  return mask;
}

}  // namespace

TEST_SUITE("optim") {
  TEST_CASE("plain SGD: p -= lr * grad, in float64 and float32, across chunk boundaries") {
    Tensor p = param_f64({1, -2, 3});
    give_grad_f64(p, {0.5, 1, -2});
    SGD sgd({group("all", {p}, 0.0)}, 0.5);
    sgd.step();
    CHECK(p.to_vector_f64() == std::vector<double>{0.75, -2.5, 4});
    CHECK_FALSE(sgd.momentum_buffer(p).defined());

    // 12155 elements: one full chunk of 8192 plus a ragged one.
    Rng rng(11);
    Tensor w = Tensor::randn({17, 5, 11, 13}, rng).requires_grad_();
    Tensor g = Tensor::randn({17, 5, 11, 13}, rng);
    const std::vector<float> w0 = w.to_vector(), g0 = g.to_vector();
    w.set_grad(g);
    SGD sgd32({group("w", {w}, 0.0)}, 0.01);
    sgd32.step();
    const std::vector<float> w1 = w.to_vector();
    for (size_t i = 0; i < w0.size(); i += 97) CHECK(w1[i] == doctest::Approx(w0[i] - 0.01 * g0[i]).epsilon(1e-6));
    CHECK(w1.back() == doctest::Approx(w0.back() - 0.01 * g0.back()).epsilon(1e-6));
  }

  TEST_CASE("momentum follows PyTorch's buf = m*buf + g, p -= lr*buf (hand values, f32 and f64)") {
    // lr 0.5, momentum 0.5, grads 1, 2, -1 from p = 1:
    // buf 1, p 0.5; buf 2.5, p -0.75; buf 0.25, p -0.875 (all exact in binary).
    for (DType dtype : {DType::F64, DType::F32}) {
      Tensor p = Tensor::ones({1}, dtype).requires_grad_();
      SGD sgd({group("all", {p}, 0.5)}, 0.5);
      const double grads[] = {1, 2, -1}, bufs[] = {1, 2.5, 0.25}, params[] = {0.5, -0.75, -0.875};
      for (int s = 0; s < 3; ++s) {
        p.set_grad(Tensor::full({1}, grads[s], dtype));
        sgd.step();
        CHECK(sgd.momentum_buffer(p).item() == bufs[s]);
        CHECK(p.item() == params[s]);
      }
    }
  }

  TEST_CASE("Nesterov: update = g + m*buf (hand values)") {
    // lr 0.5, m 0.5, p = 1: g 1 -> buf 1, update 1.5, p 0.25; g 2 -> buf 2.5, update 3.25, p -1.375.
    Tensor p = param_f64({1, -1});
    SGD sgd({group("all", {p}, 0.5, true)}, 0.5);
    give_grad_f64(p, {1, -1});
    sgd.step();
    CHECK(p.to_vector_f64() == std::vector<double>{0.25, -0.25});
    give_grad_f64(p, {2, -2});
    sgd.step();
    CHECK(p.to_vector_f64() == std::vector<double>{-1.375, 1.375});
    CHECK(sgd.momentum_buffer(p).to_vector_f64() == std::vector<double>{2.5, -2.5});
  }

  TEST_CASE("weight decay is added to the gradient before the momentum (hand values)") {
    // lr 0.5, m 0.5, wd 0.25, p = 2, g = 1: d = 1.5, buf 1.5, p 1.25;
    // g = 1: d = 1 + 0.3125 = 1.3125, buf 0.75 + 1.3125 = 2.0625, p = 1.25 - 1.03125 = 0.21875.
    Tensor p = param_f64({2});
    SGD sgd({group("all", {p}, 0.5, false, 0.25)}, 0.5);
    give_grad_f64(p, {1});
    sgd.step();
    CHECK(p.item() == 1.25);
    give_grad_f64(p, {1});
    sgd.step();
    CHECK(p.item() == 0.21875);
    CHECK(sgd.momentum_buffer(p).item() == 2.0625);
  }

  TEST_CASE("two groups with their own settings; params without grad are skipped; zero_grad; set_lr") {
    Tensor a = param_f64({1, 2});
    Tensor b = param_f64({4});
    Tensor idle = param_f64({7, 7, 7});
    // group plain: lr_scale 1, no momentum. group fancy: lr_scale 0.5, m 0.5, Nesterov, wd 0.5.
    SGD sgd({group("plain", {a}, 0.0), group("fancy", {b, idle}, 0.5, true, 0.5, 0.5)}, 0.5);
    give_grad_f64(a, {1, -1});
    give_grad_f64(b, {1});
    sgd.step();
    CHECK(a.to_vector_f64() == std::vector<double>{0.5, 2.5});
    // b: d = 1 + 0.5*4 = 3, buf 3, update 3 + 1.5 = 4.5, p = 4 - 0.25*4.5 = 2.875
    CHECK(b.item() == 2.875);
    CHECK(idle.to_vector_f64() == std::vector<double>{7, 7, 7});
    CHECK_FALSE(sgd.momentum_buffer(idle).defined());

    // A param without grad keeps its momentum untouched.
    sgd.zero_grad();
    CHECK_FALSE(a.grad().defined());
    CHECK_FALSE(b.grad().defined());
    sgd.step();
    CHECK(b.item() == 2.875);
    CHECK(sgd.momentum_buffer(b).item() == 3.0);

    sgd.set_lr(0.25);
    CHECK(sgd.lr() == 0.25);
    give_grad_f64(a, {4, 8});
    sgd.step();
    CHECK(a.to_vector_f64() == std::vector<double>{-0.5, 0.5});
    CHECK(b.item() == 2.875);
  }

  TEST_CASE("masks keep weight, gradient and momentum exactly zero; unmasked elements are unaffected") {
    Rng rng(3);
    const Shape shape{3, 5, 7, 9};
    Tensor masked = Tensor::randn(shape, rng).requires_grad_();
    Tensor free = masked.clone().requires_grad_();
    Tensor mask = random_mask(shape, rng, 0.6);
    SGD with_mask({group("g", {masked}, 0.9, true, 1e-3)}, 0.05);
    SGD without_mask({group("g", {free}, 0.9, true, 1e-3)}, 0.05);
    with_mask.set_mask(masked, mask);
    CHECK(with_mask.has_mask(masked));
    const int64_t masked_count = count_zeros(mask);
    REQUIRE(masked_count > 0);
    CHECK(count_zeros(masked) == masked_count);  // zeroed at once

    for (int s = 0; s < 25; ++s) {
      Tensor g = Tensor::randn(shape, rng, 0.5, 1.0);  // nonzero everywhere
      masked.set_grad(g.clone());
      free.set_grad(g.clone());
      with_mask.step();
      without_mask.step();
    }
    const float* m = mask.f32();
    const float *w = masked.f32(), *gw = masked.grad().f32(), *buf = with_mask.momentum_buffer(masked).f32();
    const float* wf = free.f32();
    int64_t bad_zeros = 0, bad_free = 0;
    for (int64_t i = 0; i < masked.numel(); ++i) {
      if (m[i] == 0)
        bad_zeros += !(w[i] == 0 && gw[i] == 0 && buf[i] == 0);
      else
        bad_free += w[i] != wf[i];
    }
    CHECK(bad_zeros == 0);
    CHECK(bad_free == 0);

    // Something outside (a weight load, a hand edit) writes into masked elements:
    // the next step zeroes them again.
    int64_t first_masked = 0;
    while (m[first_masked] != 0) ++first_masked;
    masked.f32()[first_masked] = 3.0f;
    with_mask.momentum_buffer(masked).f32()[first_masked] = -2.0f;
    masked.set_grad(Tensor::ones(shape));
    with_mask.step();
    CHECK(masked.f32()[first_masked] == 0.0f);
    CHECK(with_mask.momentum_buffer(masked).f32()[first_masked] == 0.0f);
    CHECK(count_zeros(masked) == masked_count);

    // After clear_mask, the formerly masked elements train again.
    with_mask.clear_mask(masked);
    CHECK_FALSE(with_mask.has_mask(masked));
    masked.set_grad(Tensor::ones(shape));
    with_mask.step();
    CHECK(count_zeros(masked) < masked_count);
  }

  TEST_CASE("proximal L1: hand-computed soft-thresholding, scalar and per-element strength") {
    // lr 0.5, no momentum, zero grad: threshold = 0.5 * strength.
    Tensor p = param_f64({1, -2, 0.125, -0.125, 0, 3});
    SGD sgd({group("gates", {p}, 0.0)}, 0.5);
    sgd.set_l1(p, Tensor::from_vector_f64({1}, {0.5}));  // threshold 0.25
    CHECK(sgd.has_l1(p));
    give_grad_f64(p, {0, 0, 0, 0, 0, 0});
    sgd.step();
    CHECK(p.to_vector_f64() == std::vector<double>{0.75, -1.75, 0, 0, 0, 2.75});

    // Per element (float32 strength for a float64 param is converted).
    sgd.set_l1(p, Tensor::from_vector({6}, {0, 1, 2, 2, 2, 6}));  // thresholds 0, 0.5, 1, 1, 1, 3
    give_grad_f64(p, {0, 0, 0, 0, 0, 0});
    sgd.step();
    CHECK(p.to_vector_f64() == std::vector<double>{0.75, -1.25, 0, 0, 0, 0});

    // The prox comes after the SGD step, and lr_scale scales both: step size 0.5 * 0.5,
    // 1 - 0.25*0.5 = 0.875, then minus 0.25*0.5 -> 0.75.
    Tensor q = param_f64({1, -1});
    SGD sgd_q({group("gates", {q}, 0.0, false, 0.0, 0.5)}, 0.5);
    sgd_q.set_l1(q, Tensor::full({1}, 0.5, DType::F64));
    give_grad_f64(q, {0.5, -0.5});
    sgd_q.step();
    CHECK(q.to_vector_f64() == std::vector<double>{0.75, -0.75});

    // clear_l1 stops the shrinking.
    sgd_q.clear_l1(q);
    CHECK_FALSE(sgd_q.has_l1(q));
    give_grad_f64(q, {0, 0});
    sgd_q.step();
    CHECK(q.to_vector_f64() == std::vector<double>{0.75, -0.75});
  }

  TEST_CASE("proximal L1 with a fixed step size: the shrink does not follow the scheduled lr") {
    // lr 0.1 for the gradient step, 0.5 (times lr_scale 0.5) for the prox: 1 - 0.1*0.5*1 = 0.95, minus 0.25*0.5.
    Tensor p = param_f64({1, -1});
    SGD sgd({group("gates", {p}, 0.0, false, 0.0, 0.5)}, 0.1);
    sgd.set_l1_step_size(0.5);
    sgd.set_l1(p, Tensor::full({1}, 0.5, DType::F64));
    give_grad_f64(p, {1, -1});
    sgd.step();
    CHECK(p.to_vector_f64() == std::vector<double>{0.825, -0.825});
    // The lr falls to 0: the gradient no longer moves p, the prox still shrinks it by 0.125.
    sgd.set_lr(0.0);
    give_grad_f64(p, {1, -1});
    sgd.step();
    CHECK(p.to_vector_f64() == std::vector<double>{0.7, -0.7});
    // Back to the scheduled lr: with lr 0 nothing moves.
    sgd.set_l1_step_size(0.0);
    sgd.step();
    CHECK(p.to_vector_f64() == std::vector<double>{0.7, -0.7});
    CHECK_THROWS_AS(sgd.set_l1_step_size(-1), Error);
  }

  TEST_CASE("proximal L1 zeros persist while the strength beats the gradient, momentum reset on zero") {
    Rng rng(5);
    const Shape shape{5, 1, 3, 3};
    Tensor gates = Tensor::uniform(shape, rng, -1.0, 1.0).requires_grad_();
    SGD sgd({group("gates", {gates}, 0.9)}, 0.1);
    const double strength = 0.4;
    sgd.set_l1(gates, Tensor::full({1}, strength));
    std::vector<bool> was_zero(gates.numel(), false);
    int64_t previous = 0, violations = 0;
    for (int s = 0; s < 200; ++s) {
      // |grad| < strength / 2 everywhere: zero must be absorbing.
      gates.set_grad(Tensor::uniform(shape, rng, -0.5 * strength, 0.5 * strength));
      sgd.step();
      const int64_t zeros = count_zeros(gates);
      CHECK(zeros >= previous);
      previous = zeros;
      const Tensor buf = sgd.momentum_buffer(gates);
      for (int64_t i = 0; i < gates.numel(); ++i) {
        if (was_zero[i] && gates.f32()[i] != 0) ++violations;
        if (gates.f32()[i] == 0 && buf.f32()[i] != 0) ++violations;
        was_zero[i] = gates.f32()[i] == 0;
      }
    }
    CHECK(violations == 0);
    CHECK(previous == gates.numel());  // every gate ends at zero

    // A strong gradient still pulls a zero out: lr * |g| = 0.1 * 5 > threshold 0.04.
    gates.set_grad(Tensor::full(shape, 5.0));
    sgd.step();
    CHECK(count_zeros(gates) == 0);
  }

  TEST_CASE("reset_momentum_on_zero is a real choice: without it, momentum pushes a zero out again") {
    // lr 1, m 0.5, strength 0.25, p = 1, g = 1.25: buf 1.25, p = -0.25 -> prox -> 0.
    // Next step with g = 0: reset -> stays 0; no reset -> buf 0.625, p = -0.625 -> prox -> -0.375.
    for (bool reset : {true, false}) {
      Tensor p = param_f64({1});
      SgdOptions options;
      options.reset_momentum_on_zero = reset;
      SGD sgd({group("gates", {p}, 0.5)}, 1.0, options);
      CHECK(sgd.options().reset_momentum_on_zero == reset);
      sgd.set_l1(p, Tensor::full({1}, 0.25, DType::F64));
      give_grad_f64(p, {1.25});
      sgd.step();
      CHECK(p.item() == 0.0);
      CHECK(sgd.momentum_buffer(p).item() == (reset ? 0.0 : 1.25));
      give_grad_f64(p, {0});
      sgd.step();
      CHECK(p.item() == (reset ? 0.0 : -0.375));
    }
  }

  TEST_CASE("count_zeros counts exact zeros of either sign, f32 and f64") {
    Tensor a = Tensor::from_vector({7}, {0.0f, -0.0f, 1e-30f, 1.0f, 0.0f, -2.0f, 1e-45f});
    CHECK(count_zeros(a) == 3);
    Tensor b = Tensor::from_vector_f64({5}, {0.0, -0.0, 1e-300, 0.0, 3.0});
    CHECK(count_zeros(b) == 3);
    CHECK(count_zeros(Tensor::zeros({3, 5, 7, 9})) == 945);
    CHECK_THROWS_AS(count_zeros(Tensor()), Error);
  }

  TEST_CASE("state round trip: a resumed run continues bit-identically") {
    Rng init(21);
    auto make_params = [&]() {
      std::vector<Tensor> params = {Tensor::randn({3, 5, 3, 3}, init).set_name("conv.weight"),
                                    Tensor::randn({5}, init, 0, 1, DType::F64),
                                    Tensor::randn({5, 1, 3, 3}, init).set_name("conv.stripe_gate"),
                                    Tensor::randn({7}, init)};
      for (Tensor& p : params) p.requires_grad_();
      return params;
    };
    auto make_sgd = [](const std::vector<Tensor>& p) {
      return SGD({group("weights", {p[0], p[1]}, 0.9, true, 5e-4), group("gates", {p[2], p[3]}, 0.9, false, 0, 0.5)},
                 0.05);
    };
    Rng mask_rng(2);
    const Tensor mask = random_mask({3, 5, 3, 3}, mask_rng, 0.7);
    const Tensor strength = Tensor::full({5, 1, 3, 3}, 0.3);
    auto configure = [&](SGD& sgd, const std::vector<Tensor>& p) {
      sgd.set_mask(p[0], mask);
      sgd.set_l1(p[2], strength);
    };
    auto run_steps = [](SGD& sgd, std::vector<Tensor>& p, uint64_t seed, int steps) {
      Rng rng(seed);
      for (int s = 0; s < steps; ++s) {
        for (size_t i = 0; i + 1 < p.size(); ++i)  // the last param never gets a grad
          p[i].set_grad(Tensor::randn(p[i].shape(), rng, 0, 1, p[i].dtype()));
        sgd.step();
      }
    };

    std::vector<Tensor> original = make_params();
    SGD sgd = make_sgd(original);
    configure(sgd, original);
    run_steps(sgd, original, 100, 4);
    const auto saved_state = sgd.state();
    std::vector<Tensor> saved_params;
    for (const Tensor& p : original) saved_params.push_back(p.clone().requires_grad_());
    REQUIRE(saved_state.size() == 3);
    CHECK(saved_state[0].first == "weights/conv.weight");
    CHECK(saved_state[1].first == "weights/1");
    CHECK(saved_state[2].first == "gates/conv.stripe_gate");
    run_steps(sgd, original, 200, 5);

    SGD resumed = make_sgd(saved_params);
    configure(resumed, saved_params);
    resumed.load_state(saved_state);
    CHECK_FALSE(resumed.momentum_buffer(saved_params[3]).defined());
    run_steps(resumed, saved_params, 200, 5);
    for (size_t i = 0; i < original.size(); ++i) {
      CAPTURE(i);
      CHECK(bit_identical(original[i], saved_params[i]));
    }
    const auto a = sgd.state(), b = resumed.state();
    REQUIRE(a.size() == b.size());
    for (size_t i = 0; i < a.size(); ++i) CHECK(bit_identical(a[i].second, b[i].second));

    // Without the state the continuation differs, so the check above can fail.
    std::vector<Tensor> fresh_params;
    for (const Tensor& p : saved_params) fresh_params.push_back(p.clone().requires_grad_());
    SGD fresh = make_sgd(fresh_params);
    configure(fresh, fresh_params);
    run_steps(fresh, fresh_params, 200, 1);
    run_steps(resumed, saved_params, 200, 1);
    CHECK_FALSE(bit_identical(fresh_params[0], saved_params[0]));
  }

  TEST_CASE("load_state refuses mismatches with clear errors and changes nothing") {
    Tensor w = Tensor::zeros({3, 5}).set_name("fc.weight").requires_grad_();
    Tensor b = Tensor::zeros({5}).requires_grad_();
    Tensor g = Tensor::zeros({5}).requires_grad_();
    SGD sgd({group("w", {w, b}, 0.9), group("nomomentum", {g}, 0.0)}, 0.1);
    w.set_grad(Tensor::ones({3, 5}));
    sgd.step();
    const auto before = sgd.state();

    CHECK_THROWS_WITH_AS(sgd.load_state({{"w/fc.bias", Tensor::zeros({5})}}),
                         doctest::Contains("unknown key 'w/fc.bias'"), Error);
    CHECK_THROWS_WITH_AS(sgd.load_state({{"w/nope", Tensor::zeros({5})}}),
                         doctest::Contains("'w/fc.weight', 'w/1'"), Error);
    CHECK_THROWS_WITH_AS(sgd.load_state({{"w/fc.weight", Tensor::zeros({5, 3})}}),
                         doctest::Contains("shape [5, 3]; the parameter has shape [3, 5]"), Error);
    CHECK_THROWS_WITH_AS(sgd.load_state({{"w/1", Tensor::zeros({5})}, {"w/1", Tensor::zeros({5})}}),
                         doctest::Contains("appears twice"), Error);
    CHECK_THROWS_WITH_AS(sgd.load_state({{"nomomentum/0", Tensor::zeros({5})}}),
                         doctest::Contains("momentum 0"), Error);
    const auto after = sgd.state();
    REQUIRE(after.size() == before.size());
    CHECK(bit_identical(after[0].second, before[0].second));

    // A float64 buffer for a float32 parameter is converted.
    sgd.load_state({{"w/1", Tensor::full({5}, 0.5, DType::F64)}});
    CHECK(sgd.momentum_buffer(b).dtype() == DType::F32);
    CHECK(sgd.momentum_buffer(b).to_vector() == std::vector<float>(5, 0.5f));
    CHECK_FALSE(sgd.momentum_buffer(w).defined());
  }

  TEST_CASE("bad optimizer settings and arguments are clear errors") {
    Tensor p = Tensor::zeros({3}).set_name("p").requires_grad_();
    Tensor q = Tensor::zeros({3}).requires_grad_();
    CHECK_THROWS_WITH_AS(SGD({group("a", {p}, 0.9)}, -0.1), doctest::Contains("learning rate -0.1"), Error);
    CHECK_THROWS_WITH_AS(SGD({group("a", {p}, 0.0, true)}, 0.1), doctest::Contains("Nesterov"), Error);
    CHECK_THROWS_WITH_AS(SGD({group("a", {p}, -0.5)}, 0.1), doctest::Contains("momentum of group 'a'"), Error);
    CHECK_THROWS_WITH_AS(SGD({group("a", {p}, 0.9, false, NAN)}, 0.1), doctest::Contains("weight_decay"), Error);
    CHECK_THROWS_WITH_AS(SGD({group("a", {p}, 0.9), group("a", {q}, 0.9)}, 0.1),
                         doctest::Contains("two parameter groups are named 'a'"), Error);
    CHECK_THROWS_WITH_AS(SGD({group("a", {p}, 0.9), group("b", {p}, 0.9)}, 0.1),
                         doctest::Contains("parameter 'p' (#0 of group 'b') appears twice"), Error);
    CHECK_THROWS_AS(SGD({group("a", {Tensor()}, 0.9)}, 0.1), Error);

    SGD sgd({group("a", {p}, 0.9)}, 0.1);
    CHECK_THROWS_AS(sgd.set_lr(NAN), Error);
    CHECK_THROWS_WITH_AS(sgd.set_mask(q, Tensor::ones({3})), doctest::Contains("not in any"), Error);
    CHECK_THROWS_WITH_AS(sgd.set_mask(p, Tensor::ones({4})), doctest::Contains("mask [4]"), Error);
    CHECK_THROWS_WITH_AS(sgd.set_mask(p, Tensor::full({3}, 0.5)), doctest::Contains("holds 0.5"), Error);
    CHECK_THROWS_WITH_AS(sgd.set_l1(p, Tensor::full({1}, -1.0)), doctest::Contains("holds -1"), Error);
    CHECK_THROWS_WITH_AS(sgd.set_l1(p, Tensor::ones({2})), doctest::Contains("strength [2]"), Error);
    CHECK_FALSE(sgd.has_mask(p));
    CHECK_FALSE(sgd.has_l1(p));

    // A wrong gradient is refused before any parameter moves.
    SGD two({group("a", {p, q}, 0.9)}, 0.1);
    p.set_grad(Tensor::ones({3}));
    q.impl()->grad = Tensor::ones({3}, DType::F64).impl_ptr();  // bypasses set_grad's checks
    CHECK_THROWS_WITH_AS(two.step(), doctest::Contains("expected float32 [3]"), Error);
    CHECK(p.to_vector() == std::vector<float>(3, 0.0f));
  }

  TEST_CASE("updates are bit-identical for 1 and 2 threads on a multi-chunk tensor") {
    Rng rng(8);
    const Shape shape{9, 8193};  // 9 chunks of 8192 and a tail: takes the parallel path
    Tensor start = Tensor::randn(shape, rng);
    Tensor grad = Tensor::randn(shape, rng);
    Tensor mask = random_mask(shape, rng, 0.8);
    std::vector<Tensor> results;
    const int threads_before = omp_get_max_threads();
    for (int threads : {1, 2}) {
      omp_set_num_threads(threads);
      Tensor p = start.clone().requires_grad_();
      SGD sgd({group("g", {p}, 0.9, true, 1e-4)}, 0.1);
      sgd.set_mask(p, mask);
      sgd.set_l1(p, Tensor::full({1}, 0.05));
      for (int s = 0; s < 3; ++s) {
        p.set_grad(grad.clone());
        sgd.step();
      }
      results.push_back(p);
    }
    omp_set_num_threads(threads_before);
    CHECK(bit_identical(results[0], results[1]));
    CHECK(count_zeros(results[0]) > count_zeros(mask));  // the prox did zero some unmasked elements
  }

  TEST_CASE("lr schedules at chosen points against hand values") {
    const double base = 0.2;
    LrSchedule constant = LrSchedule::constant(base);
    CHECK(constant.lr_at(0, 0, 5) == base);
    CHECK(constant.lr_at(99, 4, 5) == base);

    LrSchedule multistep = LrSchedule::multistep(base, {3, 5}, 0.5);
    CHECK(multistep.lr_at(0, 0, 7) == base);
    CHECK(multistep.lr_at(2, 6, 7) == base);
    CHECK(multistep.lr_at(3, 0, 7) == 0.1);
    CHECK(multistep.lr_at(4, 6, 7) == 0.1);
    CHECK(multistep.lr_at(5, 0, 7) == 0.05);
    CHECK(multistep.lr_at(50, 3, 7) == 0.05);

    // Cosine over 10 epochs, 4 steps each: t = epoch + step/4.
    const double pi = std::acos(-1.0);
    LrSchedule cosine = LrSchedule::cosine(base, 10);
    CHECK(cosine.lr_at(0, 0, 4) == base);
    CHECK(cosine.lr_at(5, 0, 4) == doctest::Approx(0.1).epsilon(1e-12));
    CHECK(cosine.lr_at(2, 2, 4) == doctest::Approx(0.1 * (1 + std::cos(pi * 0.25))).epsilon(1e-12));
    CHECK(cosine.lr_at(9, 3, 4) == doctest::Approx(0.1 * (1 + std::cos(pi * 0.975))).epsilon(1e-12));
    CHECK(cosine.lr_at(10, 0, 4) == 0.0);
    CHECK(cosine.lr_at(12, 1, 4) == 0.0);

    // Warm-up over 2 epochs of 4 steps: (global_step + 1) / 8 of the schedule's value.
    LrSchedule warm_cosine = LrSchedule::cosine(base, 10, 2);
    CHECK(warm_cosine.lr_at(0, 0, 4) == doctest::Approx(base / 8));
    CHECK(warm_cosine.lr_at(1, 1, 4) == doctest::Approx(base * 6 / 8));
    CHECK(warm_cosine.lr_at(1, 3, 4) == doctest::Approx(base));
    CHECK(warm_cosine.lr_at(2, 0, 4) == doctest::Approx(base));  // cosine starts after the warm-up
    CHECK(warm_cosine.lr_at(6, 0, 4) == doctest::Approx(base / 2));
    CHECK(warm_cosine.lr_at(10, 0, 4) == 0.0);
    LrSchedule warm_multistep = LrSchedule::multistep(base, {1}, 0.5, 2);
    CHECK(warm_multistep.lr_at(0, 1, 4) == doctest::Approx(base * 2 / 8));
    CHECK(warm_multistep.lr_at(1, 1, 4) == doctest::Approx(0.5 * base * 6 / 8));
    CHECK(warm_multistep.lr_at(3, 0, 4) == doctest::Approx(0.5 * base));
    CHECK(LrSchedule::constant(base, 1).lr_at(0, 2, 5) == doctest::Approx(base * 3 / 5));

    CHECK(parse_lr_schedule_kind("cosine") == LrScheduleKind::Cosine);
    CHECK(warm_multistep.describe() == "multistep lr 0.2 x0.5 at epochs 1, linear warm-up 2 epochs");
  }

  TEST_CASE("bad lr schedule settings are clear errors") {
    CHECK_THROWS_WITH_AS(LrSchedule::constant(-0.1), doctest::Contains("base learning rate -0.1"), Error);
    CHECK_THROWS_WITH_AS(LrSchedule::multistep(0.1, {5, 3}, 0.1), doctest::Contains("3 follows 5"), Error);
    CHECK_THROWS_AS(LrSchedule::multistep(0.1, {3, 3}, 0.1), Error);
    CHECK_THROWS_AS(LrSchedule::multistep(0.1, {0, 3}, 0.1), Error);
    CHECK_THROWS_WITH_AS(LrSchedule::multistep(0.1, {3}, 0.0), doctest::Contains("gamma is 0"), Error);
    CHECK_THROWS_AS(LrSchedule::multistep(0.1, {3}, -0.5), Error);
    CHECK_THROWS_AS(LrSchedule::cosine(0.1, 5, 5), Error);
    CHECK_THROWS_AS(LrSchedule::cosine(0.1, 0), Error);
    CHECK_THROWS_AS(LrSchedule::constant(0.1, -1), Error);
    CHECK_THROWS_WITH_AS(parse_lr_schedule_kind("step"), doctest::Contains("constant, multistep, cosine"), Error);
    LrSchedule s = LrSchedule::constant(0.1);
    CHECK_THROWS_AS(s.lr_at(-1, 0, 5), Error);
    CHECK_THROWS_AS(s.lr_at(0, 5, 5), Error);
    CHECK_THROWS_AS(s.lr_at(0, -1, 5), Error);
    CHECK_THROWS_AS(s.lr_at(0, 0, 0), Error);
  }
}
