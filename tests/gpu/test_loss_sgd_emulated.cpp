// The per-element code of the CUDA SGD step (cuda/sgd_steps.cuh) against
// optim::SGD, and the per-lane softmax cross-entropy steps
// (cuda/loss_steps.cuh) against ops::cross_entropy, run on the CPU. These run
// everywhere, also where no GPU is visible.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "gpu_test_helpers.h"
#include "loss_steps.cuh"
#include "prunus/autograd.h"
#include "prunus/ops.h"
#include "prunus/optim/sgd.h"
#include "prunus/tensor.h"
#include "sgd_steps.cuh"

using namespace prunus;
using namespace prunus_test;

namespace {

struct SgdCase {
  double momentum;
  bool nesterov;
  double weight_decay;
  bool mask, l1, l1_scalar, reset_momentum_on_zero;
};

void check_sgd(const SgdCase& c, uint64_t seed) {
  INFO("momentum ", c.momentum, " nesterov ", c.nesterov, " decay ", c.weight_decay, " mask ", c.mask, " l1 ", c.l1,
       " scalar ", c.l1_scalar, " reset ", c.reset_momentum_on_zero);
  Rng rng(seed);
  const int64_t count = 517;
  const size_t n = static_cast<size_t>(count);
  const double lr = 0.05, lr_scale = 0.7;
  std::vector<float> mask(n), strength(c.l1_scalar ? 1 : n);
  for (float& m : mask) m = rng.uniform() < 0.3 ? 0.0f : 1.0f;
  for (float& s : strength) s = float(rng.uniform(0.0, 0.5));

  Tensor param = Tensor::from_vector({count}, random_values(n, rng, -0.1, 0.1)).requires_grad_();
  optim::ParamGroup group;
  group.name = "g";
  group.params = {param};
  group.momentum = c.momentum;
  group.nesterov = c.nesterov;
  group.weight_decay = c.weight_decay;
  group.lr_scale = lr_scale;
  optim::SgdOptions options;
  options.reset_momentum_on_zero = c.reset_momentum_on_zero;
  optim::SGD sgd({group}, lr, options);
  if (c.mask) sgd.set_mask(param, Tensor::from_vector({count}, mask));
  if (c.l1) sgd.set_l1(param, Tensor::from_vector({int64_t(strength.size())}, strength));

  std::vector<float> p = param.to_vector(), g(n), buffer(n, 0.0f);
  cuda::SgdStep step;
  step.param = p.data();
  step.grad = g.data();
  step.momentum_buffer = c.momentum > 0 ? buffer.data() : nullptr;
  step.mask = c.mask ? mask.data() : nullptr;
  step.l1_strength = c.l1 ? strength.data() : nullptr;
  step.l1_scalar = c.l1_scalar;
  step.count = count;
  step.step_size = float(lr * lr_scale);
  step.momentum = float(c.momentum);
  step.weight_decay = float(c.weight_decay);
  step.nesterov = c.nesterov;
  step.reset_momentum_on_zero = c.reset_momentum_on_zero;
  for (int iteration = 0; iteration < 3; ++iteration) {
    const std::vector<float> fresh = random_values(n, rng);
    std::copy(fresh.begin(), fresh.end(), g.begin());  // in place: step.grad points into g
    param.set_grad(Tensor::from_vector({count}, g));
    sgd.step();
    for (int64_t i = 0; i < count; ++i) cuda::sgd_step_element(step, i);
  }
  CHECK(relative_error(p, param.to_vector()) < 1e-6);
  CHECK(relative_error(g, param.grad().to_vector()) == 0.0);
  if (c.momentum > 0) CHECK(relative_error(buffer, sgd.momentum_buffer(param).to_vector()) < 1e-6);
  int64_t zeros = 0;
  for (float v : p) zeros += v == 0.0f;
  CHECK(zeros == optim::count_zeros(param));
}

}  // namespace

TEST_SUITE("emulated_kernels") {
  TEST_CASE("SGD element step matches optim::SGD: momentum, Nesterov, decay, masks, L1") {
    check_sgd({0.0, false, 0.0, false, false, false, true}, 901);
    check_sgd({0.9, false, 5e-4, false, false, false, true}, 902);
    check_sgd({0.9, true, 1e-3, true, false, false, true}, 903);
    check_sgd({0.9, false, 0.0, false, true, false, true}, 904);
    check_sgd({0.9, false, 0.0, true, true, true, false}, 905);
    check_sgd({0.0, false, 5e-4, true, true, true, true}, 906);
  }

  TEST_CASE("softmax cross-entropy lane steps match ops::cross_entropy") {
    Rng rng(911);
    const int N = 9, K = 37, lanes = 32;  // K > lanes: some lanes take two classes
    const std::vector<float> logits = random_values(size_t(N) * K, rng, -6.0, 6.0);
    std::vector<int> labels(N);
    for (int& l : labels) l = int(rng.below(K));
    Tensor z = Tensor::from_vector({N, K}, logits).requires_grad_();
    Tensor loss = ops::cross_entropy(z, labels);
    loss.backward();

    std::vector<float> probabilities(size_t(N) * K, NAN), grad(size_t(N) * K, NAN);
    const std::vector<int32_t> labels32(labels.begin(), labels.end());
    double total = 0;
    for (int row = 0; row < N; ++row) {
      const float* zr = logits.data() + size_t(row) * K;
      double max = -INFINITY, sum = 0;
      for (int lane = 0; lane < lanes; ++lane) max = cuda::larger(max, cuda::row_max_partial(zr, K, lane, lanes));
      for (int lane = 0; lane < lanes; ++lane) sum += cuda::row_exp_sum_partial(zr, K, max, lane, lanes);
      const double log_total = std::log(sum);
      for (int lane = 0; lane < lanes; ++lane)
        cuda::row_write_probabilities(zr, K, max, log_total, probabilities.data() + size_t(row) * K, lane, lanes);
      total += cuda::row_loss(zr, K, labels[row], max, log_total);
    }
    CHECK(std::fabs(total / N - loss.item()) < 1e-6 * std::fabs(loss.item()));
    for (int64_t e = 0; e < int64_t(N) * K; ++e)
      cuda::cross_entropy_backward_element(probabilities.data(), labels32.data(), K, 1.0 / N, grad.data(), e);
    CHECK(relative_error(grad, z.grad().to_vector()) < 1e-6);
    CHECK(std::isnan(cuda::row_loss(logits.data(), K, K, 0.0, 0.0)));  // label out of range
    CHECK(std::isnan(cuda::row_loss(logits.data(), K, -1, 0.0, 0.0)));
  }
}
