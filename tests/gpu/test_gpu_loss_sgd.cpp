// CUDA softmax cross-entropy against ops::cross_entropy, and the CUDA SGD
// step against optim::SGD, both the real CPU code run on the same data.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "gpu_test_helpers.h"
#include "prunus/autograd.h"
#include "prunus/cuda/kernels.h"
#include "prunus/ops.h"
#include "prunus/optim/sgd.h"
#include "prunus/tensor.h"

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
  const int64_t count = 1003;
  const size_t n = static_cast<size_t>(count);
  const double lr = 0.05, lr_scale = 0.7;
  std::vector<float> p0 = random_values(n, rng, -0.1, 0.1);
  std::vector<float> mask(n), strength(c.l1_scalar ? 1 : n);
  for (float& m : mask) m = rng.uniform() < 0.3 ? 0.0f : 1.0f;
  for (float& s : strength) s = float(rng.uniform(0.0, 0.5));

  // CPU: optim::SGD.
  Tensor param = Tensor::from_vector({count}, p0).requires_grad_();
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

  // GPU: the same start (set_mask zeroes masked parameters at once).
  DeviceBuffer<float> gp(param.to_vector()), gg(n), gm(n), gmask(mask), gs(strength);
  cuda::SgdStep step;
  step.param = gp.get();
  step.grad = gg.get();
  step.momentum_buffer = c.momentum > 0 ? gm.get() : nullptr;
  step.mask = c.mask ? gmask.get() : nullptr;
  step.l1_strength = c.l1 ? gs.get() : nullptr;
  step.l1_scalar = c.l1_scalar;
  step.count = count;
  step.step_size = float(lr * lr_scale);
  step.momentum = float(c.momentum);
  step.weight_decay = float(c.weight_decay);
  step.nesterov = c.nesterov;
  step.reset_momentum_on_zero = c.reset_momentum_on_zero;

  for (int iteration = 0; iteration < 3; ++iteration) {
    const std::vector<float> grad = random_values(n, rng);
    param.set_grad(Tensor::from_vector({count}, grad));
    sgd.step();
    gg.upload(grad);
    cuda::sgd_step(step);
  }
  CHECK(relative_error(gp.download(), param.to_vector()) < 1e-6);
  CHECK(relative_error(gg.download(), param.grad().to_vector()) == 0.0);  // masked gradients zeroed in place too
  if (c.momentum > 0) CHECK(relative_error(gm.download(), sgd.momentum_buffer(param).to_vector()) < 1e-6);
  int64_t cpu_zeros = optim::count_zeros(param), gpu_zeros = 0;
  for (float v : gp.download()) gpu_zeros += v == 0.0f;
  CHECK(gpu_zeros == cpu_zeros);
}

}  // namespace

TEST_SUITE("gpu_loss_sgd") {
  TEST_CASE("softmax cross-entropy matches ops::cross_entropy, loss and gradient") {
    Rng rng(501);
    const int N = 37, K = 11;
    const std::vector<float> logits = random_values(size_t(N) * K, rng, -4.0, 4.0);
    std::vector<int> labels(N);
    for (int& l : labels) l = int(rng.below(K));
    Tensor z = Tensor::from_vector({N, K}, logits).requires_grad_();
    Tensor loss = ops::cross_entropy(z, labels);
    loss.backward();

    const std::vector<int32_t> labels32(labels.begin(), labels.end());
    DeviceBuffer<float> gz(logits), gp(size_t(N) * K), gloss(1), ggrad(size_t(N) * K);
    DeviceBuffer<int32_t> glabels(labels32);
    cuda::softmax_cross_entropy_forward(gz.get(), glabels.get(), N, K, poisoned(gp)->get(), poisoned(gloss)->get());
    CHECK(std::fabs(gloss.download()[0] - loss.item()) < 1e-6 * std::fabs(loss.item()) + 1e-7);
    std::vector<float> probabilities = gp.download();
    for (int n = 0; n < N; ++n) {
      double row = 0;
      for (int k = 0; k < K; ++k) row += probabilities[size_t(n) * K + k];
      CHECK(std::fabs(row - 1.0) < 1e-5);
    }
    cuda::softmax_cross_entropy_backward(gp.get(), glabels.get(), N, K, 1.0 / N, poisoned(ggrad)->get());
    CHECK(relative_error(ggrad.download(), z.grad().to_vector()) < 1e-5);

    // A label outside [0, K) makes the loss NaN instead of reading out of bounds.
    std::vector<int32_t> bad = labels32;
    bad[5] = K;
    glabels.upload(bad);
    cuda::softmax_cross_entropy_forward(gz.get(), glabels.get(), N, K, gp.get(), gloss.get());
    CHECK(std::isnan(gloss.download()[0]));
  }

  TEST_CASE("SGD step matches optim::SGD: momentum, Nesterov, decay, masks, L1") {
    check_sgd({0.0, false, 0.0, false, false, false, true}, 511);
    check_sgd({0.9, false, 5e-4, false, false, false, true}, 512);
    check_sgd({0.9, true, 1e-3, true, false, false, true}, 513);
    check_sgd({0.9, false, 0.0, false, true, false, true}, 514);
    check_sgd({0.9, false, 0.0, true, true, true, false}, 515);
    check_sgd({0.0, false, 5e-4, true, true, true, true}, 516);
  }
}
