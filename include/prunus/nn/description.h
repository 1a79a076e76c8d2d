// Architecture description: a text form of any module tree (type, integer and
// float attributes, children) and a registry that rebuilds the tree from it.
// Together with nn/state.h this saves and loads any model, including one whose
// layer widths were changed by pruning: each module writes its *current*
// settings, and each child is rebuilt from its own description.
//
// Format (one module per line, two spaces of indent per level):
//   prunus-architecture 1
//   Sequential {
//     conv1: Conv2d in_channels=3 out_channels=16 kernel_size=3 stride=1 padding=1 bias=0 ...
//     layer1: Sequential {
//       0: BasicBlock in_channels=16 out_channels=16 stride=1 {
//         conv1: Conv2d ...
//       }
//     }
//   }
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "prunus/nn/module.h"

namespace prunus {
namespace nn {

// Ordered key=value settings of one module. Values are stored as text;
// floats are written with 17 significant digits so they round-trip exactly.
class ModuleAttributes {
 public:
  ModuleAttributes() = default;
  explicit ModuleAttributes(std::string type) : type_(std::move(type)) {}

  void set_int(const std::string& key, int64_t value);
  void set_u64(const std::string& key, uint64_t value);
  void set_double(const std::string& key, double value);
  void set_bool(const std::string& key, bool value);
  void set_text(const std::string& key, const std::string& value);  // no spaces, '=', '{', '}'

  bool has(const std::string& key) const;
  // Throw naming the module type and key when missing or malformed.
  int64_t get_int(const std::string& key) const;
  int get_int32(const std::string& key) const;
  uint64_t get_u64(const std::string& key) const;
  double get_double(const std::string& key) const;
  bool get_bool(const std::string& key) const;
  const std::string& get_text(const std::string& key) const;

  const std::string& type() const { return type_; }
  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

 private:
  const std::string& raw(const std::string& key) const;
  std::string type_;
  std::vector<std::pair<std::string, std::string>> items_;
};

// Builds a module of one type from its attributes, with default children;
// build_from_description then replaces each child by the rebuilt one.
using ModuleFactory = std::function<std::shared_ptr<Module>(const ModuleAttributes&)>;

// Adds (or replaces) a type in the registry; thread-safe. Every module type of
// the library registers itself, next to its definition, with
// PRUNUS_REGISTER_MODULE_TYPE below.
void register_module_type(const std::string& type_name, ModuleFactory factory);
bool is_module_type_registered(const std::string& type_name);
std::vector<std::string> registered_module_types();  // sorted

std::string describe(const Module& module);
// Parameters are freshly initialized: load the state afterwards (or keep them, as prune::fresh_copy does).
// The modules' initial parameters are drawn under InitSeedScope(init_seed).
// Nesting deeper than kMaxDescriptionDepth is refused; max_host_bytes > 0 caps
// what the build may allocate (see HostAllocationLimit), for descriptions read
// from files.
constexpr int kMaxDescriptionDepth = 64;
// The cap for a model rebuilt from a file whose tensors take `stored_bytes`:
// twice that (initialization may allocate temporaries) plus 64 MiB.
size_t allocation_limit_for_file(size_t stored_bytes);
std::shared_ptr<Module> build_from_description(const std::string& description, uint64_t init_seed = 0,
                                               size_t max_host_bytes = 0);

}  // namespace nn
}  // namespace prunus

// Registers module type TYPE (an identifier, also its type_name()) when the
// program starts. Write it in the .cpp that defines the type, so a type and
// its rebuilding live in one file. Registration runs from static
// initialization, so the object file must be linked even when nothing else in
// it is referenced: the Makefile links libprunus.a whole (--whole-archive);
// a program of your own linking it should do the same.
#define PRUNUS_REGISTER_MODULE_TYPE(TYPE, FACTORY)                                                  \
  static const bool prunus_module_type_registered_##TYPE [[maybe_unused]] =                         \
      (::prunus::nn::register_module_type(#TYPE, FACTORY), true)
