// Seeded parameter initialization. Module constructors draw their initial
// values from init_rng(): inside an InitSeedScope that is an Rng seeded by
// the scope, so building the same model under the same seed gives the same
// parameters bit for bit. Outside any scope a per-thread Rng seeded with 0 is
// used (still deterministic, but dependent on what was built before).
#pragma once
#include <cstdint>

#include "prunus/rng.h"
#include "prunus/tensor.h"

namespace prunus {
namespace nn {

class InitSeedScope {
 public:
  explicit InitSeedScope(uint64_t seed);
  ~InitSeedScope();
  InitSeedScope(const InitSeedScope&) = delete;
  InitSeedScope& operator=(const InitSeedScope&) = delete;

 private:
  Rng rng_;
  Rng* previous_;
};

Rng& init_rng();

// Kaiming (He) normal with fan_out = shape[0] * prod(shape[2:]) and gain
// sqrt(2): std = sqrt(2 / fan_out). torchvision's choice for ResNets.
Tensor kaiming_normal_fan_out(const Shape& shape);
// Uniform in (-bound, bound).
Tensor uniform_symmetric(const Shape& shape, double bound);

}  // namespace nn
}  // namespace prunus
