// Parameter-free layers that act elementwise: ReLU and Dropout.
#pragma once
#include <cstdint>

#include "prunus/nn/module.h"
#include "prunus/rng.h"

namespace prunus {
namespace nn {

class ReLU : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "ReLU"; }
};

// Inverted dropout (identity in eval mode). Owns its Rng, seeded at
// construction from init_rng(), i.e. from the model seed.
class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5);
  Dropout(double p, uint64_t seed);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Dropout"; }
  void describe_attributes(ModuleAttributes& attributes) const override;

  double p;
  uint64_t seed;  // the Rng's initial seed
  Rng rng;
};

}  // namespace nn
}  // namespace prunus
