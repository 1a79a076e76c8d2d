#include "prunus/prune/method.h"

#include <mutex>

#include "builtin_methods.h"

namespace prunus {
namespace prune {
namespace {

std::mutex registry_mutex;
std::vector<std::shared_ptr<PruningMethod>> builtin_methods() {
  return {make_full_method(), make_slimming_method(), make_swp_method(), make_l1norm_method(),
          make_full_plain_l1_method()};
}

std::vector<std::shared_ptr<PruningMethod>>& registry() {
  static std::vector<std::shared_ptr<PruningMethod>> methods = builtin_methods();
  return methods;
}

// The built-ins are the registry's first entries.
size_t builtin_method_count() {
  static const size_t count = builtin_methods().size();
  return count;
}

}  // namespace

double MethodPreset::threshold(const Granularity& kind) const {
  const auto it = thresholds.find(kind.name());
  return it == thresholds.end() ? 0.0 : it->second;
}

PruneOutcome PruningMethod::zero_for_target(nn::Module& model, const GraphAnalysis& analysis, const PruneState& state,
                                            const PrunerOptions& options) const {
  enable_gates(model, state);
  return zero_gates_for_target(model, analysis, state, options);
}

void PruningMethod::remove_zeroed(nn::Module& model, const GraphAnalysis& analysis, const PruneState& state,
                                  PruneOutcome& out) const {
  remove_zeroed_structures(model, analysis, state, out);
}

std::vector<std::string> method_names() {
  std::lock_guard<std::mutex> lock(registry_mutex);
  std::vector<std::string> names;
  for (const auto& m : registry()) names.push_back(m->name());
  return names;
}

MethodPreset method_preset(const std::string& name) {
  std::shared_ptr<PruningMethod> found;
  {
    std::lock_guard<std::mutex> lock(registry_mutex);
    for (const auto& m : registry())
      if (m->name() == name) found = m;
  }
  // Outside the lock: a method's preset may start from another's.
  if (found) {
    MethodPreset p = found->preset();
    p.method = found.get();
    p.name = name;
    return p;
  }
  std::string names;
  for (const auto& n : method_names()) names += (names.empty() ? "" : ", ") + n;
  PRUNUS_FAIL("prune.method '", name, "' is unknown; expected one of ", names);
}

void register_method(std::shared_ptr<PruningMethod> method) {
  PRUNUS_CHECK(method, "prune: register_method got a null method");
  std::lock_guard<std::mutex> lock(registry_mutex);
  for (const auto& m : registry())
    PRUNUS_CHECK(m->name() != method->name(), "prune: a method named '", method->name(), "' is already registered");
  registry().push_back(std::move(method));
}

void unregister_method(const std::string& name) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  auto& methods = registry();
  for (size_t i = 0; i < methods.size(); ++i) {
    if (methods[i]->name() != name) continue;
    PRUNUS_CHECK(i >= builtin_method_count(), "prune: the built-in method '", name, "' cannot be unregistered");
    methods.erase(methods.begin() + long(i));
    return;
  }
  PRUNUS_FAIL("prune: no method named '", name, "' is registered");
}

}  // namespace prune
}  // namespace prunus
