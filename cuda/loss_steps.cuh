// The per-lane pieces of the softmax cross-entropy kernels (loss.cu): a row
// is handled by `lanes` threads (a warp on the GPU) that combine partial
// maxima and sums between the steps. Host and device code, so the CPU
// emulator runs it. Arithmetic in double, like the CPU op.
#pragma once
#include <cmath>

#include "host_device.cuh"

namespace prunus {
namespace cuda {

// NaNs never win the max: they make the sum, and so the loss, NaN.
PRUNUS_HD double larger(double a, double b) { return b > a ? b : a; }

PRUNUS_HD double row_max_partial(const float* z, int K, int lane, int lanes) {
  double max = -INFINITY;
  for (int k = lane; k < K; k += lanes) max = larger(max, double(z[k]));
  return max;
}

PRUNUS_HD double row_exp_sum_partial(const float* z, int K, double max, int lane, int lanes) {
  double total = 0.0;
  for (int k = lane; k < K; k += lanes) total += exp(double(z[k]) - max);
  return total;
}

PRUNUS_HD void row_write_probabilities(const float* z, int K, double max, double log_total, float* p, int lane,
                                       int lanes) {
  for (int k = lane; k < K; k += lanes) p[k] = static_cast<float>(exp(double(z[k]) - max - log_total));
}

// -log softmax[label]; NaN for a label outside [0, K) instead of reading out of bounds.
PRUNUS_HD double row_loss(const float* z, int K, int label, double max, double log_total) {
  return label >= 0 && label < K ? max + log_total - double(z[label]) : NAN;
}

// grad[e] = scale * (p - one_hot(label)), e over N * K, as the CPU op rounds it.
PRUNUS_HD void cross_entropy_backward_element(const float* probabilities, const int32_t* labels, int K, double scale,
                                              float* grad, int64_t e) {
  const int row = static_cast<int>(e / K), k = static_cast<int>(e % K);
  float g = static_cast<float>(scale * double(probabilities[e]));
  if (k == labels[row]) g -= static_cast<float>(scale);
  grad[e] = g;
}

}  // namespace cuda
}  // namespace prunus
