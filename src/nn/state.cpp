#include "prunus/nn/state.h"

#include "prunus/autograd.h"

namespace prunus {
namespace nn {

std::vector<std::pair<std::string, Tensor>> state_tensors(const Module& module) {
  std::vector<std::pair<std::string, Tensor>> out = module.named_parameters();
  for (auto& entry : module.named_buffers()) out.push_back(std::move(entry));
  return out;
}

// Lists at most a few names so one bad file does not print thousands.
static std::string name_list(const std::vector<std::string>& names) {
  std::string out;
  const size_t shown = std::min<size_t>(names.size(), 8);
  for (size_t i = 0; i < shown; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > shown) out += ", ... (" + std::to_string(names.size()) + " in all)";
  return out;
}

void load_state_tensors(Module& module, const std::map<std::string, Tensor>& state) {
  const auto expected = state_tensors(module);
  std::vector<std::string> missing, unexpected;
  std::map<std::string, bool> known;
  for (const auto& [name, tensor] : expected) {
    known[name] = true;
    auto found = state.find(name);
    if (found == state.end()) {
      missing.push_back(name);
      continue;
    }
    PRUNUS_CHECK(found->second.defined(), "load_state_tensors: entry '", name, "' is an undefined tensor");
    PRUNUS_CHECK(found->second.shape() == tensor.shape(), "load_state_tensors: '", name, "' has shape ",
                 shape_str(found->second.shape()), " in the state but ", shape_str(tensor.shape()),
                 " in the model (was the model built from the same architecture description?)");
  }
  for (const auto& [name, tensor] : state)
    if (!known.count(name)) unexpected.push_back(name);
  PRUNUS_CHECK(missing.empty() && unexpected.empty(), "load_state_tensors: the state does not match the model: ",
               missing.empty() ? "" : "missing from the state: " + name_list(missing),
               missing.empty() || unexpected.empty() ? "" : "; ",
               unexpected.empty() ? "" : "not in the model: " + name_list(unexpected),
               " (a pruned model must be rebuilt from its own architecture description, with the same"
               " gates and masks enabled)");
  NoGradGuard no_grad;
  for (const auto& [name, tensor] : expected) {
    Tensor target = tensor;
    target.copy_(state.at(name));
  }
}

void load_state_tensors(Module& module, const std::vector<std::pair<std::string, Tensor>>& state) {
  std::map<std::string, Tensor> by_name;
  for (const auto& [name, tensor] : state)
    PRUNUS_CHECK(by_name.emplace(name, tensor).second, "load_state_tensors: the state holds '", name, "' twice");
  load_state_tensors(module, by_name);
}

}  // namespace nn
}  // namespace prunus
