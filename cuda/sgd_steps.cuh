// One element of the CUDA SGD step (sgd.cu), in the order optim::SGD uses on
// the CPU (src/optim/sgd.cpp); host and device code, so the CPU emulator
// tests it against the real optimizer.
#pragma once
#include <cmath>

#include "host_device.cuh"
#include "prunus/cuda/kernels.h"

namespace prunus {
namespace cuda {

PRUNUS_HD void sgd_step_element(const SgdStep& s, int64_t i) {
  const bool has_momentum = s.momentum_buffer != nullptr;
  const bool masked_out = s.mask != nullptr && s.mask[i] == 0.0f;
  const float g = masked_out ? 0.0f : s.grad[i];
  if (s.mask != nullptr) s.grad[i] = g;  // the CPU step zeroes masked gradients in place too
  float p = s.param[i];
  float d = g;
  if (s.weight_decay != 0.0f) d += s.weight_decay * p;
  float buffer = 0.0f;
  if (has_momentum) {
    buffer = s.momentum * s.momentum_buffer[i] + d;
    d = s.nesterov ? d + s.momentum * buffer : buffer;
  }
  p -= s.step_size * d;
  if (masked_out) {
    p = 0.0f;
    buffer = 0.0f;
  }
  if (s.l1_strength != nullptr) {
    const float threshold = s.step_size * (s.l1_scalar ? s.l1_strength[0] : s.l1_strength[i]);
    const float shrunk = fabsf(p) - threshold;
    const bool zero = shrunk <= 0.0f;  // `<=`: a NaN parameter stays NaN and is noticed
    p = zero ? 0.0f : copysignf(shrunk, p);
    if (zero && s.reset_momentum_on_zero) buffer = 0.0f;
  }
  s.param[i] = p;
  if (has_momentum) s.momentum_buffer[i] = buffer;
}

}  // namespace cuda
}  // namespace prunus
