#include "prunus/prune/model_access.h"

namespace prunus {
namespace prune {

template <class M>
static std::shared_ptr<M> typed_module(nn::Module& model, const std::string& name, const char* type) {
  std::shared_ptr<nn::Module> m = model.find_module(name);
  PRUNUS_CHECK(m != nullptr, "prune: the model has no module named '", name,
               "' (was the analysis made on another model?)");
  auto typed = std::dynamic_pointer_cast<M>(m);
  PRUNUS_CHECK(typed != nullptr, "prune: module '", name, "' is a ", m->type_name(), ", expected a ", type);
  return typed;
}

std::shared_ptr<nn::Conv2d> conv_module(nn::Module& model, const std::string& name) {
  return typed_module<nn::Conv2d>(model, name, "Conv2d");
}

std::shared_ptr<nn::BatchNormBase> batch_norm_module(nn::Module& model, const std::string& name) {
  return typed_module<nn::BatchNormBase>(model, name, "BatchNorm2d or BatchNorm1d");
}

std::shared_ptr<nn::Linear> linear_module(nn::Module& model, const std::string& name) {
  return typed_module<nn::Linear>(model, name, "Linear");
}

EvalModeScope::EvalModeScope(nn::Module& model) : model_(model), root_mode_(model.training()) {
  for (auto& [name, m] : model.named_modules()) modes_.emplace_back(m, m->training());
  model.eval();
}

EvalModeScope::~EvalModeScope() {
  model_.train(root_mode_);  // recursive; then each module's own mode, parents first
  for (auto& [m, mode] : modes_) m->train(mode);
}

float* f32_data(const Tensor& t, const std::string& what) {
  PRUNUS_CHECK(t.defined(), "prune: ", what, " is undefined");
  PRUNUS_CHECK(t.dtype() == DType::F32 && t.device() == Device::CPU, "prune: ", what,
               " must be a float32 CPU tensor, got ", dtype_name(t.dtype()), " on ", device_name(t.device()));
  return t.f32();
}

}  // namespace prune
}  // namespace prunus
