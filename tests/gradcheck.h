// Finite-difference gradient checks, shared by the op tests.
// f maps float64 inputs to one float64 output. The scalar checked is
// L = sum(output * R) for a fixed random R, so every output element matters.
// Autograd's dL/dinput is compared with central differences
// (L(x+h) - L(x-h)) / 2h, per input, as max|analytic - numeric| / max|numeric|.
#pragma once
#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include "prunus/autograd.h"
#include "prunus/rng.h"
#include "prunus/tensor.h"

namespace prunus_test {
using prunus::Tensor;

inline double projected(const Tensor& out, const Tensor& r) {
  const double* o = out.f64();
  const double* w = r.f64();
  double acc = 0;
  for (int64_t i = 0; i < out.numel(); ++i) acc += o[i] * w[i];
  return acc;
}

// Returns the worst relative error over all inputs marked requires_grad.
inline double gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f, std::vector<Tensor> inputs,
                        double h = 1e-6, uint64_t seed = 1234) {
  for (Tensor& t : inputs) t.zero_grad();
  Tensor out = f(inputs);
  prunus::Rng rng(seed);
  Tensor r = Tensor::randn(out.shape(), rng, 0.0, 1.0, prunus::DType::F64);
  out.backward(r);
  double worst = 0;
  for (Tensor& t : inputs) {
    if (!t.requires_grad()) continue;
    Tensor analytic = t.grad();
    double* x = t.f64();
    double max_diff = 0, max_numeric = 0;
    for (int64_t i = 0; i < t.numel(); ++i) {
      const double saved = x[i];
      double plus, minus;
      {
        prunus::NoGradGuard no_grad;
        x[i] = saved + h;
        plus = projected(f(inputs), r);
        x[i] = saved - h;
        minus = projected(f(inputs), r);
      }
      x[i] = saved;
      const double numeric = (plus - minus) / (2 * h);
      const double a = analytic.defined() ? analytic.f64()[i] : 0.0;
      max_diff = std::max(max_diff, std::abs(a - numeric));
      max_numeric = std::max(max_numeric, std::abs(numeric));
    }
    worst = std::max(worst, max_diff / std::max(max_numeric, 1e-12));
  }
  return worst;
}

// Largest |a[i] - b[i]|; infinite when the sizes differ, so a check fails.
inline double max_abs_difference(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return INFINITY;
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  return worst;
}

inline Tensor random_f64(const prunus::Shape& shape, prunus::Rng& rng) {
  return Tensor::randn(shape, rng, 0.0, 1.0, prunus::DType::F64);
}

// Largest |a - b| / max(1, |b|) over two equal-sized tensors (any dtypes).
inline double max_relative_difference(const Tensor& a, const Tensor& b) {
  const auto va = a.to_vector_f64(), vb = b.to_vector_f64();
  double worst = va.size() == vb.size() ? 0.0 : INFINITY;
  for (size_t i = 0; i < std::min(va.size(), vb.size()); ++i)
    worst = std::max(worst, std::abs(va[i] - vb[i]) / std::max(1.0, std::abs(vb[i])));
  return worst;
}

}  // namespace prunus_test
