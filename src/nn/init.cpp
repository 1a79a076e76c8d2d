#include "prunus/nn/init.h"

#include <cmath>

namespace prunus {
namespace nn {

static thread_local Rng* g_scoped_rng = nullptr;

InitSeedScope::InitSeedScope(uint64_t seed) : rng_(seed), previous_(g_scoped_rng) { g_scoped_rng = &rng_; }
InitSeedScope::~InitSeedScope() { g_scoped_rng = previous_; }

Rng& init_rng() {
  static thread_local Rng default_rng(0);
  return g_scoped_rng ? *g_scoped_rng : default_rng;
}

// Box-Muller keeping both values of each pair: half the log/sqrt/cos work of
// Rng::normal(), which matters when ResNet-50's 25M weights are drawn.
static Tensor normal_tensor(const Shape& shape, double stddev) {
  Tensor t = Tensor::empty(shape);
  float* out = t.f32();
  const int64_t n = t.numel();
  Rng& rng = init_rng();
  for (int64_t i = 0; i < n; i += 2) {
    double u1 = rng.uniform();
    while (u1 <= 0.0) u1 = rng.uniform();
    const double radius = stddev * std::sqrt(-2.0 * std::log(u1)), angle = 2.0 * M_PI * rng.uniform();
    out[i] = static_cast<float>(radius * std::cos(angle));
    if (i + 1 < n) out[i + 1] = static_cast<float>(radius * std::sin(angle));
  }
  return t;
}

Tensor kaiming_normal_fan_out(const Shape& shape) {
  PRUNUS_CHECK(shape.size() >= 2 && shape_numel(shape) > 0, "kaiming_normal_fan_out: shape ", shape_str(shape),
               " needs at least 2 non-empty dimensions");
  int64_t fan_out = shape[0];
  for (size_t d = 2; d < shape.size(); ++d) fan_out *= shape[d];
  return normal_tensor(shape, std::sqrt(2.0 / double(fan_out)));
}

Tensor uniform_symmetric(const Shape& shape, double bound) {
  return Tensor::uniform(shape, init_rng(), -bound, bound);
}

}  // namespace nn
}  // namespace prunus
