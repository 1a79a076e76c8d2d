#include "prunus/nn/description.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

#include "prunus/io/number_text.h"
#include "prunus/nn/layers.h"

namespace prunus {
namespace nn {

static const char* const kHeader = "prunus-architecture 1";

// ---------------------------------------------------------------- attributes

static void check_attribute_text(const std::string& type, const std::string& key, const std::string& value) {
  for (const std::string* s : {&key, &value}) {
    PRUNUS_CHECK(!s->empty(), type, ": attribute key and value must not be empty (key '", key, "')");
    for (char c : *s)
      PRUNUS_CHECK(c > ' ' && c != '=' && c != '{' && c != '}' && c != ':', type, ": attribute '", key, "=", value,
                   "' may not contain whitespace, '=', ':', '{' or '}'");
  }
}

void ModuleAttributes::set_text(const std::string& key, const std::string& value) {
  check_attribute_text(type_, key, value);
  for (auto& [k, v] : items_)
    if (k == key) {
      v = value;
      return;
    }
  items_.emplace_back(key, value);
}

void ModuleAttributes::set_int(const std::string& key, int64_t value) { set_text(key, std::to_string(value)); }
void ModuleAttributes::set_u64(const std::string& key, uint64_t value) { set_text(key, std::to_string(value)); }
void ModuleAttributes::set_bool(const std::string& key, bool value) { set_text(key, value ? "1" : "0"); }
void ModuleAttributes::set_double(const std::string& key, double value) { set_text(key, io::round_trip_decimal(value)); }

bool ModuleAttributes::has(const std::string& key) const {
  for (const auto& [k, v] : items_)
    if (k == key) return true;
  return false;
}

const std::string& ModuleAttributes::raw(const std::string& key) const {
  for (const auto& [k, v] : items_)
    if (k == key) return v;
  std::string present;
  for (const auto& [k, v] : items_) present += (present.empty() ? "" : ", ") + k;
  PRUNUS_FAIL(type_, " needs attribute '", key, "' but has only: ",
              present.empty() ? "(none)" : present);
}

const std::string& ModuleAttributes::get_text(const std::string& key) const { return raw(key); }

int64_t ModuleAttributes::get_int(const std::string& key) const {
  const std::string& text = raw(key);
  char* end = nullptr;
  errno = 0;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  PRUNUS_CHECK(errno == 0 && end && *end == '\0', type_, " attribute ", key, "=",
               text, " is not an integer");
  return value;
}

int ModuleAttributes::get_int32(const std::string& key) const {
  const int64_t value = get_int(key);
  PRUNUS_CHECK(value >= -2147483647LL && value <= 2147483647LL, type_, " attribute ", key, "=", value,
               " does not fit in 32 bits");
  return static_cast<int>(value);
}

uint64_t ModuleAttributes::get_u64(const std::string& key) const {
  const std::string& text = raw(key);
  char* end = nullptr;
  errno = 0;
  const unsigned long long value = std::strtoull(text.c_str(), &end, 10);
  PRUNUS_CHECK(errno == 0 && end && *end == '\0' && text[0] != '-', type_, " attribute ", key, "=", text, " is not an unsigned integer");
  return value;
}

double ModuleAttributes::get_double(const std::string& key) const {
  const std::string& text = raw(key);
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  PRUNUS_CHECK(end && *end == '\0', type_, " attribute ", key, "=", text,
               " is not a number");
  return value;
}

bool ModuleAttributes::get_bool(const std::string& key) const {
  const std::string& text = raw(key);
  if (text == "1" || text == "true") return true;
  if (text == "0" || text == "false") return false;
  PRUNUS_FAIL(type_, " attribute ", key, "=", text, " should be 0 or 1");
}

// ------------------------------------------------------------------ registry

// Built on first use, so the types registering themselves from static
// initializers (PRUNUS_REGISTER_MODULE_TYPE) never depend on static-init order.
struct Registry {
  std::mutex mutex;
  std::map<std::string, ModuleFactory> factories;
};

static Registry& registry() {
  static Registry* instance = new Registry;
  return *instance;
}

void register_module_type(const std::string& type_name, ModuleFactory factory) {
  PRUNUS_CHECK(!type_name.empty() && factory, "register_module_type: needs a type name and a factory");
  check_attribute_text(type_name, "type", type_name);
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.factories[type_name] = std::move(factory);
}

bool is_module_type_registered(const std::string& type_name) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  return r.factories.count(type_name) > 0;
}

std::vector<std::string> registered_module_types() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  std::vector<std::string> names;
  for (const auto& [name, factory] : r.factories) names.push_back(name);
  return names;
}

static ModuleFactory find_factory(const std::string& type) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  auto found = r.factories.find(type);
  if (found != r.factories.end()) return found->second;
  std::string known;
  for (const auto& [name, factory] : r.factories) known += (known.empty() ? "" : ", ") + name;
  PRUNUS_FAIL("unknown module type '", type,
              "'; registered types: ", known, " (register custom types with nn::register_module_type first; a prunus type missing here means "
              "libprunus.a was not linked whole, see PRUNUS_REGISTER_MODULE_TYPE)");
}

// ------------------------------------------------------------------ describe

static void describe_into(const Module& module, const std::string& local_name, int depth, std::ostringstream& out) {
  ModuleAttributes attributes(module.type_name());
  module.describe_attributes(attributes);
  out << std::string(2 * depth, ' ');
  if (depth > 0) out << local_name << ": ";
  out << module.type_name();
  for (const auto& [key, value] : attributes.items()) out << ' ' << key << '=' << value;
  if (module.children().empty()) {
    out << '\n';
    return;
  }
  out << " {\n";
  for (const auto& [name, child] : module.children()) describe_into(*child, name, depth + 1, out);
  out << std::string(2 * depth, ' ') << "}\n";
}

std::string describe(const Module& module) {
  std::ostringstream out;
  out << kHeader << '\n';
  describe_into(module, "", 0, out);
  return out.str();
}

// --------------------------------------------------------------------- build

namespace {

struct Line {
  int number;
  std::vector<std::string> tokens;
};

class Parser {
 public:
  explicit Parser(const std::string& text) {
    std::istringstream in(text);
    std::string raw;
    int number = 0;
    while (std::getline(in, raw)) {
      ++number;
      std::istringstream words(raw);
      Line line{number, {}};
      for (std::string word; words >> word;) line.tokens.push_back(word);
      if (!line.tokens.empty()) lines_.push_back(std::move(line));
    }
  }

  std::shared_ptr<Module> parse_root() {
    PRUNUS_CHECK(!lines_.empty(), "architecture description is empty (expected a first line '", kHeader, "')");
    const Line& header = lines_[0];
    PRUNUS_CHECK(header.tokens.size() == 2 && header.tokens[0] == "prunus-architecture",
                 "architecture description line ", header.number, ": expected '", kHeader, "'");
    PRUNUS_CHECK(header.tokens[1] == "1", "architecture description: format version ", header.tokens[1],
                 " is not supported (this build reads version 1)");
    next_ = 1;
    PRUNUS_CHECK(next_ < lines_.size(), "architecture description has no module after its header");
    std::string name;
    std::shared_ptr<Module> root = parse_module(/*is_root=*/true, name, 0);
    PRUNUS_CHECK(next_ == lines_.size(), "architecture description line ", lines_[next_].number,
                 ": unexpected text after the root module's description ended");
    return root;
  }

 private:
  std::shared_ptr<Module> parse_module(bool is_root, std::string& local_name, int depth) {
    const Line& line = lines_[next_++];
    auto fail_at = [&line](const std::string& what) {
      PRUNUS_FAIL("architecture description line ", line.number, ": ", what);
    };
    if (depth > kMaxDescriptionDepth)
      fail_at("modules nest deeper than " + std::to_string(kMaxDescriptionDepth) + " levels");
    size_t t = 0;
    const std::string& first = line.tokens[0];
    if (first == "}") fail_at("unexpected '}'");
    if (!is_root) {
      if (first.size() < 2 || first.back() != ':') fail_at("expected 'name: Type key=value ...', got '" + first + "'");
      local_name = first.substr(0, first.size() - 1);
      ++t;
    } else if (first.back() == ':') {
      fail_at("the root module has no name");
    }
    if (t >= line.tokens.size()) fail_at("missing module type after '" + first + "'");
    ModuleAttributes attributes(line.tokens[t++]);
    const std::string type = attributes.type();
    bool has_block = false;
    for (; t < line.tokens.size(); ++t) {
      const std::string& token = line.tokens[t];
      if (token == "{" && t + 1 == line.tokens.size()) {
        has_block = true;
        break;
      }
      const size_t eq = token.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == token.size())
        fail_at("expected key=value after " + type + ", got '" + token + "'");
      const std::string key = token.substr(0, eq);
      if (attributes.has(key)) fail_at(type + " attribute '" + key + "' is given twice");
      attributes.set_text(key, token.substr(eq + 1));
    }
    std::shared_ptr<Module> module;
    try {
      module = find_factory(type)(attributes);
    } catch (const Error& e) {
      fail_at(e.what());
    }
    PRUNUS_CHECK(module && module->type_name() == type, "architecture description line ", line.number,
                 ": the factory for '", type, "' built a ", module ? module->type_name() : "null module");
    check_all_attributes_known(*module, attributes, line.number);

    std::set<std::string> described;
    if (has_block) {
      while (true) {
        PRUNUS_CHECK(next_ < lines_.size(), "architecture description ends inside ", type, " (line ", line.number,
                     "): missing '}'");
        if (lines_[next_].tokens[0] == "}") {
          PRUNUS_CHECK(lines_[next_].tokens.size() == 1, "architecture description line ", lines_[next_].number,
                       ": '}' must stand alone");
          ++next_;
          break;
        }
        const int child_line = lines_[next_].number;
        std::string child_name;
        std::shared_ptr<Module> child = parse_module(false, child_name, depth + 1);
        PRUNUS_CHECK(described.insert(child_name).second, "architecture description line ", child_line, ": ", type,
                     " has two children named '", child_name, "'");
        attach(*module, type, child_name, std::move(child), child_line);
      }
    }
    for (const auto& [name, child] : module->children())
      PRUNUS_CHECK(described.count(name), "architecture description line ", line.number, ": ", type,
                   " lacks a description of its child '", name, "'");
    return module;
  }

  // Every key written must be one the type's describe_attributes() writes:
  // catches typos and descriptions from another version.
  static void check_all_attributes_known(const Module& module, const ModuleAttributes& given, int line_number) {
    ModuleAttributes expected(module.type_name());
    module.describe_attributes(expected);
    for (const auto& [key, value] : given.items())
      PRUNUS_CHECK(expected.has(key), "architecture description line ", line_number, ": ", module.type_name(),
                   " has no attribute '", key, "'");
  }

  static void attach(Module& parent, const std::string& type, const std::string& name, std::shared_ptr<Module> child,
                     int line_number) {
    if (parent.has_child(name)) {
      parent.replace_module(name, std::move(child));
      return;
    }
    auto* sequential = dynamic_cast<Sequential*>(&parent);
    PRUNUS_CHECK(sequential != nullptr, "architecture description line ", line_number, ": a ", type,
                 " has no child named '", name, "'");
    sequential->add(name, std::move(child));
  }

  std::vector<Line> lines_;
  size_t next_ = 0;
};

}  // namespace

size_t allocation_limit_for_file(size_t stored_bytes) { return 2 * stored_bytes + (size_t{64} << 20); }

std::shared_ptr<Module> build_from_description(const std::string& description, uint64_t init_seed,
                                               size_t max_host_bytes) {
  InitSeedScope seed(init_seed);
  if (max_host_bytes == 0) return Parser(description).parse_root();
  HostAllocationLimit limit(max_host_bytes, "the architecture description");
  return Parser(description).parse_root();
}

}  // namespace nn
}  // namespace prunus
