#include "prunus/nn/module.h"

#include "prunus/autograd.h"
#include "prunus/nn/description.h"

namespace prunus {
namespace nn {

// Names end up in dotted paths and in the text description, so they must not
// contain the characters those use as separators.
static void check_local_name(const char* what, const std::string& owner, const std::string& name) {
  PRUNUS_CHECK(!name.empty(), "module '", owner, "': a ", what, " name must not be empty");
  for (char c : name)
    PRUNUS_CHECK(c != '.' && c != ':' && c != '{' && c != '}' && c != '=' && c > ' ', "module '", owner,
                 "': ", what, " name '", name, "' may not contain '.', ':', '{', '}', '=' or whitespace");
}

Module::~Module() = default;

Tensor Module::operator()(const Tensor& x) {
  ModuleScope scope(full_name_);
  return forward(x);
}

void Module::describe_attributes(ModuleAttributes&) const {}

std::string Module::qualified(const std::string& local_name) const {
  return full_name_.empty() ? local_name : full_name_ + "." + local_name;
}

std::string Module::child_names() const {
  if (children_.empty()) return "(none)";
  std::string names;
  for (const auto& [name, module] : children_) names += (names.empty() ? "" : ", ") + name;
  return names;
}

void Module::register_parameter(const std::string& name, Tensor* slot, bool is_gate) {
  check_local_name("parameter", full_name_, name);
  PRUNUS_CHECK(slot != nullptr, "module '", full_name_, "': parameter '", name, "' registered with a null slot");
  for (const auto& p : parameters_) PRUNUS_CHECK(p.name != name, "parameter '", name, "' registered twice");
  for (const auto& b : buffers_) PRUNUS_CHECK(b.name != name, "'", name, "' is already a buffer");
  if (slot->defined()) slot->requires_grad_(true);
  parameters_.push_back({name, slot, is_gate});
}

void Module::register_buffer(const std::string& name, Tensor* slot) {
  check_local_name("buffer", full_name_, name);
  PRUNUS_CHECK(slot != nullptr, "module '", full_name_, "': buffer '", name, "' registered with a null slot");
  for (const auto& b : buffers_) PRUNUS_CHECK(b.name != name, "buffer '", name, "' registered twice");
  for (const auto& p : parameters_) PRUNUS_CHECK(p.name != name, "'", name, "' is already a parameter");
  buffers_.push_back({name, slot, false});
}

void Module::attach_child(const std::string& name, std::shared_ptr<Module> module) {
  check_local_name("child module", full_name_, name);
  PRUNUS_CHECK(module != nullptr, "module '", full_name_, "': child '", name, "' is null");
  PRUNUS_CHECK(module.get() != this, "module '", full_name_, "' cannot be its own child");
  PRUNUS_CHECK(!has_child(name), "module '", full_name_, "' already has a child named '", name, "'");
  children_.emplace_back(name, module);
  module->assign_full_name(qualified(name));
}

void Module::assign_full_name(const std::string& full_name) {
  full_name_ = full_name;
  for (auto& [name, module] : children_) module->assign_full_name(qualified(name));
}

void Module::collect_parameters(ParameterFilter filter, bool recurse,
                                std::vector<std::pair<std::string, Tensor>>& out) const {
  for (const auto& p : parameters_) {
    if (!p.slot->defined()) continue;
    if (filter == ParameterFilter::ExcludeGates && p.is_gate) continue;
    if (filter == ParameterFilter::GatesOnly && !p.is_gate) continue;
    out.emplace_back(qualified(p.name), *p.slot);
  }
  if (recurse)
    for (const auto& [name, module] : children_) module->collect_parameters(filter, true, out);
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters() const {
  return named_parameters(ParameterFilter::All, true);
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters(ParameterFilter filter, bool recurse) const {
  std::vector<std::pair<std::string, Tensor>> out;
  collect_parameters(filter, recurse, out);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [name, tensor] : named_parameters()) out.push_back(tensor);
  return out;
}

void Module::collect_buffers(bool recurse, std::vector<std::pair<std::string, Tensor>>& out) const {
  for (const auto& b : buffers_)
    if (b.slot->defined()) out.emplace_back(qualified(b.name), *b.slot);
  if (recurse)
    for (const auto& [name, module] : children_) module->collect_buffers(true, out);
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers(bool recurse) const {
  std::vector<std::pair<std::string, Tensor>> out;
  collect_buffers(recurse, out);
  return out;
}

void Module::collect_modules(std::vector<std::pair<std::string, std::shared_ptr<Module>>>& out) {
  for (auto& [name, module] : children_) {
    out.emplace_back(module->full_name(), module);
    module->collect_modules(out);
  }
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_modules() {
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> out;
  collect_modules(out);
  return out;
}

bool Module::has_child(const std::string& local_name) const {
  for (const auto& [name, module] : children_)
    if (name == local_name) return true;
  return false;
}

std::shared_ptr<Module> Module::child_ptr(const std::string& local_name) const {
  for (const auto& [name, module] : children_)
    if (name == local_name) return module;
  PRUNUS_FAIL("module '", full_name_, "' (", type_name(), ") has no child named '", local_name,
              "'; its children are: ", child_names());
}

Module& Module::child(const std::string& local_name) const { return *child_ptr(local_name); }

std::shared_ptr<Module> Module::find_module(const std::string& full_name) {
  if (full_name == full_name_) {
    std::shared_ptr<Module> self = weak_from_this().lock();
    PRUNUS_CHECK(self != nullptr, "find_module('", full_name, "'): modules must be held by std::shared_ptr");
    return self;
  }
  for (auto& [name, module] : named_modules())
    if (name == full_name) return module;
  return nullptr;
}

void Module::replace_module(const std::string& path, std::shared_ptr<Module> replacement) {
  PRUNUS_CHECK(replacement != nullptr, "replace_module('", path, "') on '", full_name_,
               "': the replacement is null");
  const size_t dot = path.find('.');
  if (dot != std::string::npos) {
    child(path.substr(0, dot)).replace_module(path.substr(dot + 1), std::move(replacement));
    return;
  }
  for (auto& [name, module] : children_) {
    if (name != path) continue;
    replacement->train(module->training());
    module = std::move(replacement);
    module->assign_full_name(qualified(name));
    return;
  }
  PRUNUS_FAIL("replace_module: module '", full_name_, "' (", type_name(), ") has no child named '", path,
              "'; its children are: ", child_names());
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, module] : children_) module->train(on);
}

}  // namespace nn
}  // namespace prunus
