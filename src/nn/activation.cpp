#include "prunus/nn/activation.h"

#include "prunus/nn/description.h"
#include "prunus/nn/init.h"
#include "prunus/ops.h"

namespace prunus {
namespace nn {

Tensor ReLU::forward(const Tensor& x) { return ops::relu(x); }

Dropout::Dropout(double p_) : Dropout(p_, init_rng().next_u64()) {}

Dropout::Dropout(double p_, uint64_t seed_) : p(p_), seed(seed_), rng(seed_) {
  PRUNUS_CHECK(p >= 0.0 && p < 1.0, "Dropout: probability p = ", p, " must be in [0, 1)");
}

Tensor Dropout::forward(const Tensor& x) { return ops::dropout(x, p, training(), rng); }

void Dropout::describe_attributes(ModuleAttributes& a) const {
  a.set_double("p", p);
  a.set_u64("seed", seed);
}

PRUNUS_REGISTER_MODULE_TYPE(ReLU, [](const ModuleAttributes&) { return std::make_shared<ReLU>(); });
PRUNUS_REGISTER_MODULE_TYPE(Dropout, [](const ModuleAttributes& a) {
  return std::make_shared<Dropout>(a.get_double("p"), a.get_u64("seed"));
});

}  // namespace nn
}  // namespace prunus
