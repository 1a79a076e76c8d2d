// Config parsing and validation against a Schema.
#include "prunus/io/config.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <sstream>

#include "prunus/io/number_text.h"

namespace prunus::io {
namespace {

std::string trim(const std::string& s) {
  const char* space = " \t\r\n";
  const size_t begin = s.find_first_not_of(space);
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(space) - begin + 1);
}

std::string join(const std::vector<std::string>& items, const char* separator = ", ") {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? separator : "") + items[i];
  return out;
}

bool is_identifier(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return true;
}

bool parse_int(const std::string& text, int64_t* out) {
  if (text.empty()) return false;
  size_t i = (text[0] == '+' || text[0] == '-') ? 1 : 0;
  if (i == text.size()) return false;
  for (size_t j = i; j < text.size(); ++j)
    if (!std::isdigit(static_cast<unsigned char>(text[j]))) return false;
  errno = 0;
  const long long v = std::strtoll(text.c_str(), nullptr, 10);
  if (errno == ERANGE) return false;
  *out = v;
  return true;
}

// Decimal only: [+-] digits [. digits] [e [+-] digits]; strtod alone would
// also take hex ("0x10"), "inf", "nan" and leading spaces.
bool is_decimal_number(const std::string& text) {
  size_t i = (!text.empty() && (text[0] == '+' || text[0] == '-')) ? 1 : 0;
  auto digits = [&] {
    const size_t start = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    return i - start;
  };
  size_t mantissa = digits();
  if (i < text.size() && text[i] == '.') ++i, mantissa += digits();
  if (mantissa == 0) return false;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
    if (digits() == 0) return false;
  }
  return i == text.size();
}

bool parse_float(const std::string& text, double* out) {
  if (!is_decimal_number(text)) return false;
  errno = 0;
  const double v = std::strtod(text.c_str(), nullptr);
  if (errno == ERANGE || !std::isfinite(v)) return false;
  *out = v;
  return true;
}

bool parse_bool(const std::string& text, bool* out) {
  std::string lower = text;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "true" || lower == "yes" || lower == "on" || lower == "1") return *out = true, true;
  if (lower == "false" || lower == "no" || lower == "off" || lower == "0") return *out = false, true;
  return false;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// " (did you mean 'x'?)" when some candidate is within two edits, else "".
std::string suggestion(const std::string& wrong, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = 3;
  for (const std::string& c : candidates) {
    // Also compare with the short name, so "epochs" finds "train.epochs".
    const auto dot = c.find('.');
    const std::string short_name = dot == std::string::npos ? c : c.substr(dot + 1);
    // The distance is at least the difference in length: skip the quadratic
    // comparison for names that cannot come within best_distance (long junk keys).
    auto within_reach = [&](const std::string& name) {
      return (wrong.size() > name.size() ? wrong.size() - name.size() : name.size() - wrong.size()) < best_distance;
    };
    size_t d = within_reach(c) ? edit_distance(wrong, c) : best_distance;
    if (within_reach(short_name)) d = std::min(d, edit_distance(wrong, short_name));
    if (d < best_distance) best_distance = d, best = c;
  }
  return best.empty() ? "" : " (did you mean '" + best + "'?)";
}

bool is_numeric(ValueType t) {
  return t == ValueType::Int || t == ValueType::Float || t == ValueType::IntList ||
         t == ValueType::FloatList;
}
bool is_list(ValueType t) {
  return t == ValueType::StringList || t == ValueType::IntList || t == ValueType::FloatList;
}

std::string number_form(bool integer, const Range& r) {
  const std::string noun = integer ? "integer" : "number";
  auto text = [integer](double v) { return integer ? std::to_string(static_cast<int64_t>(v)) : shortest_round_trip_decimal(v); };
  const std::string article = integer ? "an " : "a ";
  const bool zero_min = r.min && *r.min == 0.0;
  if (!r.max && zero_min && r.min_exclusive) return "a positive " + noun;
  if (!r.max && integer && r.min && *r.min == 1.0 && !r.min_exclusive) return "a positive integer";
  if (!r.max && zero_min) return "a non-negative " + noun;
  if (r.min && r.max)
    return article + noun + " in " + (r.min_exclusive ? "(" : "[") + text(*r.min) + ", " +
           text(*r.max) + (r.max_exclusive ? ")" : "]");
  if (r.min) return article + noun + (r.min_exclusive ? " > " : " >= ") + text(*r.min);
  if (r.max) return article + noun + (r.max_exclusive ? " < " : " <= ") + text(*r.max);
  return article + noun;
}

// Validates one scalar item; returns its canonical text or nullopt.
std::optional<std::string> canonical_item(const KeySpec& spec, ValueType item_type,
                                          const std::string& text) {
  switch (item_type) {
    case ValueType::Int: {
      int64_t v = 0;
      if (!parse_int(text, &v) || !spec.range.contains(static_cast<double>(v))) return std::nullopt;
      return std::to_string(v);
    }
    case ValueType::Float: {
      double v = 0;
      if (!parse_float(text, &v) || !spec.range.contains(v)) return std::nullopt;
      return shortest_round_trip_decimal(v);
    }
    case ValueType::Bool: {
      bool v = false;
      if (!parse_bool(text, &v)) return std::nullopt;
      return std::string(v ? "true" : "false");
    }
    default:
      const std::vector<std::string> choices = spec.allowed_choices();
      if (!choices.empty() && std::find(choices.begin(), choices.end(), text) == choices.end())
        return std::nullopt;
      return text;
  }
}

ValueType item_type_of(ValueType t) {
  if (t == ValueType::IntList) return ValueType::Int;
  if (t == ValueType::FloatList) return ValueType::Float;
  if (t == ValueType::StringList) return ValueType::String;
  return t;
}

// Canonical text of a whole value, or an explanation of what is wrong with it
// (the caller adds the location, key, value and expected form).
bool canonicalize(const KeySpec& spec, const std::string& text, std::string* canonical,
                  std::string* problem) {
  if (!is_list(spec.type)) {
    auto item = canonical_item(spec, spec.type, text);
    if (item) *canonical = *item;
    return item.has_value();
  }
  const std::vector<std::string> items = split_list(text);
  if (items.empty() && !spec.allow_empty_list) return *problem = "the list is empty", false;
  std::vector<std::string> canonical_items;
  double previous = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].empty()) return *problem = "item " + std::to_string(i + 1) + " is empty", false;
    auto item = canonical_item(spec, item_type_of(spec.type), items[i]);
    if (!item) return *problem = "item '" + items[i] + "' is not valid", false;
    if (spec.strictly_increasing) {
      const double v = std::strtod(item->c_str(), nullptr);
      if (i > 0 && !(v > previous)) return *problem = "the items are not strictly increasing", false;
      previous = v;
    }
    canonical_items.push_back(*item);
  }
  *canonical = join(canonical_items);
  return true;
}

// A comment starts at '#' at the start of the text or after whitespace.
size_t comment_start(const std::string& text) {
  for (size_t i = 0; i < text.size(); ++i)
    if (text[i] == '#' && (i == 0 || std::isspace(static_cast<unsigned char>(text[i - 1])))) return i;
  return std::string::npos;
}

// The value part of a line (after '='), trimmed, without its comment (a
// --set value has none: the shell already split the words). A value opening
// with '"' runs to the next unescaped '"' (inside it '\"' is a quote, '\\' a
// backslash, '#' kept); only a comment may follow it. Error otherwise.
std::string parse_value(const std::string& rest, const std::string& where, bool comments = true) {
  const std::string text = trim(rest);
  if (text.empty() || text[0] != '"') {
    const size_t comment = comments ? comment_start(text) : std::string::npos;
    return trim(comment == std::string::npos ? text : text.substr(0, comment));
  }
  std::string value;
  size_t i = 1;
  for (; i < text.size() && text[i] != '"'; ++i) {
    if (text[i] == '\\' && i + 1 < text.size() && (text[i + 1] == '"' || text[i + 1] == '\\')) ++i;
    value += text[i];
  }
  PRUNUS_CHECK(i < text.size(), where, ": unterminated quote in value ", text,
               " (a quoted value must end with \"; write \\\" for a quote inside it)");
  const std::string after = trim(text.substr(i + 1));
  PRUNUS_CHECK(after.empty() || (comments && after[0] == '#'), where, ": unexpected text '", after,
               "' after the quoted value", comments ? " (only a '#' comment may follow it)" : "");
  return value;
}

// The value as parse_value reads it back: quoted (with escapes) when it holds
// a quote, a backslash, '#' or surrounding spaces, else as it is.
std::string quote_if_needed(const std::string& value) {
  const bool plain = value.find_first_of("\"\\#") == std::string::npos && trim(value) == value;
  if (plain) return value;
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// Control characters other than tab cannot be written back to a config file.
bool is_control_character(unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7f; }

bool has_control_character(const std::string& text) {
  return std::any_of(text.begin(), text.end(), [](char c) { return is_control_character(c); });
}

// A comment's text on one line: control characters become '?'.
std::string one_line(std::string text) {
  for (char& c : text)
    if (is_control_character(c)) c = '?';
  return text;
}

}  // namespace

const char* value_type_name(ValueType type) {
  switch (type) {
    case ValueType::Int: return "int";
    case ValueType::Float: return "float";
    case ValueType::Bool: return "bool";
    case ValueType::String: return "string";
    case ValueType::StringList: return "list of strings";
    case ValueType::IntList: return "list of ints";
    case ValueType::FloatList: return "list of floats";
  }
  return "?";
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  if (trim(text).empty()) return items;
  std::string::size_type start = 0;
  while (true) {
    const auto comma = text.find(',', start);
    items.push_back(trim(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start)));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return items;
}

bool Range::contains(double v) const {
  if (min && (min_exclusive ? !(v > *min) : !(v >= *min))) return false;
  if (max && (max_exclusive ? !(v < *max) : !(v <= *max))) return false;
  return true;
}

std::string KeySpec::expected_form() const {
  std::string item;
  switch (item_type_of(type)) {
    case ValueType::Int: item = number_form(true, range); break;
    case ValueType::Float: item = number_form(false, range); break;
    case ValueType::Bool: item = "true or false (also yes/no, on/off, 1/0)"; break;
    default: {
      const std::vector<std::string> allowed = allowed_choices();
      item = allowed.empty() ? "a string" : "one of: " + join(allowed);
      break;
    }
  }
  if (!is_list(type)) return item;
  std::string form = "a comma-separated list whose items are each " + item;
  if (strictly_increasing) form += ", strictly increasing";
  if (!allow_empty_list) form += ", with at least one item";
  return form;
}

// ---------------------------------------------------------------- Schema

Schema& Schema::add(KeySpec spec) {
  const std::string name = spec.full_name();
  PRUNUS_CHECK(is_identifier(spec.section) && is_identifier(spec.key),
               "config schema: key name '", name, "' must be section.key with letters, digits or _");
  PRUNUS_CHECK(!index_.count(name), "config schema: key ", name, " is declared twice");
  PRUNUS_CHECK(spec.range.min || spec.range.max ? is_numeric(spec.type) : true, "config schema: key ",
               name, " has a range but is not numeric");
  std::string canonical, problem;
  PRUNUS_CHECK(canonicalize(spec, spec.default_text, &canonical, &problem), "config schema: default '",
               spec.default_text, "' of ", name, " is invalid: expected ", spec.expected_form());
  // A program reads ints into int or smaller types: a bound keeps 4294967297 from wrapping to 1.
  const bool integer = item_type_of(spec.type) == ValueType::Int;
  PRUNUS_CHECK(!integer || (spec.range.min && spec.range.max && *spec.range.max <= kMaxConfigInt &&
                            *spec.range.min >= -kMaxConfigInt),
               "config schema: int key ", name, " needs a lower and an upper bound within +-", kMaxConfigInt);
  spec.default_text = canonical;
  index_[name] = keys_.size();
  keys_.push_back(std::move(spec));
  return *this;
}

static KeySpec make_spec(const std::string& name, ValueType type, std::string default_text,
                         const std::string& description) {
  const auto dot = name.find('.');
  PRUNUS_CHECK(dot != std::string::npos, "config schema: key name '", name, "' must be section.key");
  KeySpec spec;
  spec.section = name.substr(0, dot);
  spec.key = name.substr(dot + 1);
  spec.type = type;
  spec.default_text = std::move(default_text);
  spec.description = description;
  return spec;
}

Schema& Schema::add_int(const std::string& name, int64_t def, const std::string& description, Range range) {
  KeySpec spec = make_spec(name, ValueType::Int, std::to_string(def), description);
  spec.range = range;
  return add(std::move(spec));
}

Schema& Schema::add_float(const std::string& name, double def, const std::string& description, Range range) {
  KeySpec spec = make_spec(name, ValueType::Float, shortest_round_trip_decimal(def), description);
  spec.range = range;
  return add(std::move(spec));
}

Schema& Schema::add_bool(const std::string& name, bool def, const std::string& description) {
  return add(make_spec(name, ValueType::Bool, def ? "true" : "false", description));
}

Schema& Schema::add_string(const std::string& name, const std::string& def, const std::string& description,
                           std::vector<std::string> choices) {
  KeySpec spec = make_spec(name, ValueType::String, def, description);
  spec.choices = std::move(choices);
  return add(std::move(spec));
}

Schema& Schema::add_string_list(const std::string& name, const std::string& def,
                                const std::string& description, std::vector<std::string> choices,
                                bool allow_empty) {
  KeySpec spec = make_spec(name, ValueType::StringList, def, description);
  spec.choices = std::move(choices);
  spec.allow_empty_list = allow_empty;
  return add(std::move(spec));
}

Schema& Schema::add_string_from(const std::string& name, const std::string& def, const std::string& description,
                                ChoiceSource choices) {
  KeySpec spec = make_spec(name, ValueType::String, def, description);
  spec.choices_from = std::move(choices);
  return add(std::move(spec));
}

Schema& Schema::add_string_list_from(const std::string& name, const std::string& def,
                                     const std::string& description, ChoiceSource choices, bool allow_empty) {
  KeySpec spec = make_spec(name, ValueType::StringList, def, description);
  spec.choices_from = std::move(choices);
  spec.allow_empty_list = allow_empty;
  return add(std::move(spec));
}

Schema& Schema::add_int_list(const std::string& name, const std::string& def, const std::string& description,
                             Range range, bool strictly_increasing, bool allow_empty) {
  KeySpec spec = make_spec(name, ValueType::IntList, def, description);
  spec.range = range;
  spec.strictly_increasing = strictly_increasing;
  spec.allow_empty_list = allow_empty;
  return add(std::move(spec));
}

Schema& Schema::add_float_list(const std::string& name, const std::string& def,
                               const std::string& description, Range range, bool strictly_increasing,
                               bool allow_empty) {
  KeySpec spec = make_spec(name, ValueType::FloatList, def, description);
  spec.range = range;
  spec.strictly_increasing = strictly_increasing;
  spec.allow_empty_list = allow_empty;
  return add(std::move(spec));
}

const KeySpec* Schema::find(const std::string& full_name) const {
  auto it = index_.find(full_name);
  return it == index_.end() ? nullptr : &keys_[it->second];
}

std::vector<std::string> Schema::sections() const {
  std::vector<std::string> out;
  for (const KeySpec& k : keys_)
    if (std::find(out.begin(), out.end(), k.section) == out.end()) out.push_back(k.section);
  return out;
}

bool Schema::has_section(const std::string& section) const {
  for (const KeySpec& k : keys_)
    if (k.section == section) return true;
  return false;
}

std::vector<std::string> Schema::key_names_in(const std::string& section) const {
  std::vector<std::string> out;
  for (const KeySpec& k : keys_)
    if (k.section == section) out.push_back(k.key);
  return out;
}

std::vector<std::string> Schema::all_key_names() const {
  std::vector<std::string> out;
  for (const KeySpec& k : keys_) out.push_back(k.full_name());
  return out;
}

std::string Schema::describe_markdown() const {
  std::ostringstream out;
  for (const std::string& section : sections()) {
    out << "\n### [" << section << "]\n\n| key | type | default | allowed | description |\n"
        << "|---|---|---|---|---|\n";
    for (const KeySpec& k : keys_) {
      if (k.section != section) continue;
      std::string description;  // a '|' would end the table cell
      for (char c : k.description) description += c == '|' ? std::string("\\|") : std::string(1, c);
      out << "| `" << k.full_name() << "` | " << value_type_name(k.type) << " | "
          << (k.default_text.empty() ? "(empty)" : "`" + k.default_text + "`") << " | " << k.expected_form()
          << " | " << description << " |\n";
    }
  }
  return out.str();
}

// ---------------------------------------------------------------- Config

Config::Config(const Schema& schema) : schema_(std::make_shared<const Schema>(schema)) {
  for (const KeySpec& k : schema_->keys()) values_[k.full_name()] = Value{k.default_text, "default", true};
}

void Config::set(const std::string& full_name, const std::string& value_text, const std::string& origin) {
  const KeySpec* spec = schema_->find(full_name);
  if (!spec) {
    const auto dot = full_name.find('.');
    const std::string section = dot == std::string::npos ? "" : full_name.substr(0, dot);
    const std::string hint = suggestion(full_name, schema_->all_key_names());
    if (schema_->has_section(section))
      PRUNUS_FAIL(origin, ": unknown key '", full_name, "'", hint, "; valid keys in [", section,
                  "]: ", join(schema_->key_names_in(section)));
    PRUNUS_FAIL(origin, ": unknown key '", full_name, "'", hint,
                "; valid keys: ", join(schema_->all_key_names()));
  }
  std::string canonical, problem;
  if (has_control_character(value_text))
    PRUNUS_FAIL(origin, ": bad value for ", full_name,
                ": it holds a newline or another control character, which a config file cannot hold");
  if (!canonicalize(*spec, value_text, &canonical, &problem))
    PRUNUS_FAIL(origin, ": bad value '", value_text, "' for ", full_name, ": expected ",
                spec->expected_form(), problem.empty() ? "" : " (" + problem + ")");
  values_[full_name] = Value{canonical, origin, false};
}

void Config::load_file(const std::string& path) {
  struct stat info {};
  PRUNUS_CHECK(::stat(path.c_str(), &info) == 0, "config: cannot open '", path, "': ", std::strerror(errno));
  PRUNUS_CHECK(!S_ISDIR(info.st_mode), "config: '", path, "' is a directory, expected a config file");
  std::FILE* file = std::fopen(path.c_str(), "rb");
  PRUNUS_CHECK(file, "config: cannot open '", path, "': ", std::strerror(errno));
  std::string text;
  char buffer[4096];
  size_t got = 0;
  while ((got = std::fread(buffer, 1, sizeof buffer, file)) > 0) text.append(buffer, got);
  const bool failed = std::ferror(file) != 0;
  std::fclose(file);
  PRUNUS_CHECK(!failed, "config: error reading '", path, "'");
  load_text(text, path);
}

void Config::load_text(const std::string& text, const std::string& source) {
  std::istringstream lines(text);
  std::string raw, section;
  std::map<std::string, int> first_line;  // key -> line where this source set it
  for (int line_number = 1; std::getline(lines, raw); ++line_number) {
    const std::string where = source + ":" + std::to_string(line_number);
    const std::string line = trim(raw);
    if (line.empty() || line[0] == '#') continue;
    if (line[0] == '[') {
      const size_t comment = comment_start(line);
      const std::string header = trim(comment == std::string::npos ? line : line.substr(0, comment));
      PRUNUS_CHECK(header.back() == ']', where, ": malformed section header '", header,
                   "': expected [section]");
      section = trim(header.substr(1, header.size() - 2));
      if (!schema_->has_section(section))
        PRUNUS_FAIL(where, ": unknown section [", section, "]", suggestion(section, schema_->sections()),
                    "; valid keys: ", join(schema_->all_key_names()));
      continue;
    }
    const auto equals = line.find('=');
    PRUNUS_CHECK(equals != std::string::npos, where, ": malformed line '", line,
                 "': expected 'key = value', '[section]' or a '#' comment");
    const std::string key = trim(line.substr(0, equals));
    PRUNUS_CHECK(is_identifier(key), where, ": malformed key '", key,
                 "': expected letters, digits or _ before '='");
    PRUNUS_CHECK(!section.empty(), where, ": key '", key, "' appears before any [section] header");
    const std::string full_name = section + "." + key;
    auto [it, inserted] = first_line.emplace(full_name, line_number);
    PRUNUS_CHECK(inserted, where, ": duplicate key ", full_name, " (already set at line ", it->second, ")");
    set(full_name, parse_value(line.substr(equals + 1), where), where);
  }
}

void Config::apply_override(const std::string& assignment) {
  const std::string where = "--set " + assignment;
  const auto equals = assignment.find('=');
  PRUNUS_CHECK(equals != std::string::npos, where, ": expected section.key=value");
  set(trim(assignment.substr(0, equals)), parse_value(assignment.substr(equals + 1), where, false), where);
}

const KeySpec& Config::spec_for(const std::string& full_name, ValueType wanted, const char* getter) const {
  const KeySpec* spec = schema_->find(full_name);
  PRUNUS_CHECK(spec, "config: ", getter, "('", full_name, "'): unknown key",
               suggestion(full_name, schema_->all_key_names()));
  const bool ok = spec->type == wanted || (wanted == ValueType::Float && spec->type == ValueType::Int) ||
                  (wanted == ValueType::FloatList && spec->type == ValueType::IntList) ||
                  (wanted == ValueType::StringList && is_list(spec->type));
  PRUNUS_CHECK(ok, "config: ", getter, "('", full_name, "'): the key is declared as ",
               value_type_name(spec->type), ", not ", value_type_name(wanted));
  return *spec;
}

const Config::Value& Config::value_of(const std::string& full_name) const {
  auto it = values_.find(full_name);
  PRUNUS_CHECK(it != values_.end(), "config: unknown key '", full_name, "'",
               suggestion(full_name, schema_->all_key_names()));
  return it->second;
}

int64_t Config::get_int(const std::string& name) const {
  spec_for(name, ValueType::Int, "get_int");
  return std::strtoll(value_of(name).canonical.c_str(), nullptr, 10);
}

double Config::get_float(const std::string& name) const {
  spec_for(name, ValueType::Float, "get_float");
  return std::strtod(value_of(name).canonical.c_str(), nullptr);
}

bool Config::get_bool(const std::string& name) const {
  spec_for(name, ValueType::Bool, "get_bool");
  return value_of(name).canonical == "true";
}

std::string Config::get_string(const std::string& name) const {
  spec_for(name, ValueType::String, "get_string");
  return value_of(name).canonical;
}

std::vector<std::string> Config::get_list(const std::string& name) const {
  spec_for(name, ValueType::StringList, "get_list");
  return split_list(value_of(name).canonical);
}

std::vector<int64_t> Config::get_int_list(const std::string& name) const {
  spec_for(name, ValueType::IntList, "get_int_list");
  std::vector<int64_t> out;
  for (const std::string& item : split_list(value_of(name).canonical))
    out.push_back(std::strtoll(item.c_str(), nullptr, 10));
  return out;
}

std::vector<double> Config::get_float_list(const std::string& name) const {
  spec_for(name, ValueType::FloatList, "get_float_list");
  std::vector<double> out;
  for (const std::string& item : split_list(value_of(name).canonical))
    out.push_back(std::strtod(item.c_str(), nullptr));
  return out;
}

bool Config::is_default(const std::string& name) const { return value_of(name).is_default; }
std::string Config::origin(const std::string& name) const { return value_of(name).origin; }
std::string Config::value_text(const std::string& name) const { return value_of(name).canonical; }

std::string Config::dump() const {
  std::ostringstream out;
  out << "# prunus effective config: every key with the value used; \"# default\" marks keys\n"
         "# that no file or --set changed. Loadable with --config.\n";
  for (const std::string& section : schema_->sections()) {
    out << "\n[" << section << "]\n";
    for (const KeySpec& k : schema_->keys()) {
      if (k.section != section) continue;
      const Value& v = values_.at(k.full_name());
      std::string line = k.key + " = " + quote_if_needed(v.canonical);
      if (line.size() < 40) line.resize(40, ' ');
      out << line << "  # " << (v.is_default ? "default" : "from " + one_line(v.origin)) << "\n";
    }
  }
  return out.str();
}

}  // namespace prunus::io
