// Config: a small INI-like format validated against a Schema.
//
//   # comment                 [section] headers, `key = value` lines, blank lines
//   [train]
//   epochs = 160              # an inline comment starts at " #"
//   milestones = 0.5, 0.75    # lists are comma separated
//   path = "dir with # in it" # surrounding double quotes are stripped
//
// A key is addressed as section.key. Every key a program reads is declared in
// the Schema with its type, default, range and a one-line description; a file
// or a `--set section.key=value` override is checked against it, so a typo or
// a bad value stops the run before any work is done. The full format and every
// key of train::prunus_schema() are documented in experiments/configs/README.md.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "prunus/error.h"

namespace prunus::io {

// Every int key declares bounds within +-kMaxConfigInt, so its value fits an int.
constexpr double kMaxConfigInt = 2147483647.0;

enum class ValueType { Int, Float, Bool, String, StringList, IntList, FloatList };
const char* value_type_name(ValueType type);

// Bounds for numbers (and for every item of a numeric list).
struct Range {
  std::optional<double> min, max;
  bool min_exclusive = false, max_exclusive = false;

  static Range any() { return {}; }
  static Range at_least(double lo) { return {lo, std::nullopt, false, false}; }
  static Range positive() { return {0.0, std::nullopt, true, false}; }  // > 0
  static Range above(double lo) { return {lo, std::nullopt, true, false}; }
  static Range between(double lo, double hi) { return {lo, hi, false, false}; }
  // [lo, hi) and (lo, hi]
  static Range from_below(double lo, double hi) { return {lo, hi, false, true}; }
  static Range above_to(double lo, double hi) { return {lo, hi, true, false}; }
  bool contains(double value) const;
};

struct KeySpec {
  std::string section, key;  // full name is section + "." + key
  ValueType type = ValueType::String;
  std::string default_text;  // the default, written as it would appear in a file
  std::string description;   // one line
  Range range;                       // Int, Float and numeric lists
  // String and StringList: the allowed values (empty = any), or, where set,
  // choices_from, asked each time so that a registry read at validation time
  // (methods, granularities, models) also offers what was registered at run time.
  std::vector<std::string> choices;
  std::function<std::vector<std::string>()> choices_from;
  bool allow_empty_list = true;      // lists only
  bool strictly_increasing = false;  // numeric lists only

  std::string full_name() const { return section + "." + key; }
  std::vector<std::string> allowed_choices() const { return choices_from ? choices_from() : choices; }
  // The expected form in words, e.g. "a positive integer", "one of: cpu, cuda".
  std::string expected_form() const;
};

class Schema {
 public:
  // Each adder checks the spec and its default (a bad default is a programming
  // error, reported as Error at schema construction). `name` is "section.key".
  Schema& add_int(const std::string& name, int64_t default_value, const std::string& description,
                  Range range = Range::any());
  Schema& add_float(const std::string& name, double default_value, const std::string& description,
                    Range range = Range::any());
  Schema& add_bool(const std::string& name, bool default_value, const std::string& description);
  Schema& add_string(const std::string& name, const std::string& default_value,
                     const std::string& description, std::vector<std::string> choices = {});
  Schema& add_string_list(const std::string& name, const std::string& default_text,
                          const std::string& description, std::vector<std::string> choices = {},
                          bool allow_empty = true);
  // The same with choices taken from a registry when a value is checked.
  using ChoiceSource = std::function<std::vector<std::string>()>;
  Schema& add_string_from(const std::string& name, const std::string& default_value,
                          const std::string& description, ChoiceSource choices);
  Schema& add_string_list_from(const std::string& name, const std::string& default_text,
                               const std::string& description, ChoiceSource choices, bool allow_empty = true);
  Schema& add_int_list(const std::string& name, const std::string& default_text,
                       const std::string& description, Range range = Range::any(),
                       bool strictly_increasing = false, bool allow_empty = true);
  Schema& add_float_list(const std::string& name, const std::string& default_text,
                         const std::string& description, Range range = Range::any(),
                         bool strictly_increasing = false, bool allow_empty = true);
  Schema& add(KeySpec spec);  // the general form used by the adders above

  const KeySpec* find(const std::string& full_name) const;  // nullptr if unknown
  const std::vector<KeySpec>& keys() const { return keys_; }  // declaration order
  std::vector<std::string> sections() const;                  // order of first declaration
  bool has_section(const std::string& section) const;
  std::vector<std::string> key_names_in(const std::string& section) const;  // short names
  std::vector<std::string> all_key_names() const;                           // full names
  // The Markdown table of every key (name, type, default, description), for docs and `--help`.
  std::string describe_markdown() const;

 private:
  std::vector<KeySpec> keys_;
  std::map<std::string, size_t> index_;
};

class Config {
 public:
  // All keys at their defaults.
  explicit Config(const Schema& schema);

  // Reads a file (Error if it cannot be opened) or text, on top of the
  // current values. `source` names the text in messages ("file.ini").
  void load_file(const std::string& path);
  void load_text(const std::string& text, const std::string& source);
  // One `section.key=value` assignment from the command line. Overrides
  // replace values from files and earlier overrides.
  void apply_override(const std::string& assignment);
  // Sets one key from its textual value, validating it; `origin` is recorded
  // and used in error messages (e.g. "exp.ini:12", "--set").
  void set(const std::string& full_name, const std::string& value_text, const std::string& origin);

  // Typed getters; Error if the key is unknown or declared with another type.
  int64_t get_int(const std::string& full_name) const;
  double get_float(const std::string& full_name) const;  // also accepts Int keys
  bool get_bool(const std::string& full_name) const;
  std::string get_string(const std::string& full_name) const;
  std::vector<std::string> get_list(const std::string& full_name) const;  // items of any list type
  std::vector<int64_t> get_int_list(const std::string& full_name) const;
  std::vector<double> get_float_list(const std::string& full_name) const;  // Int or Float lists

  bool is_default(const std::string& full_name) const;
  std::string origin(const std::string& full_name) const;  // "default", "exp.ini:12", "--set"
  std::string value_text(const std::string& full_name) const;  // canonical text of the value

  // Every key with its effective value, as a loadable config file; keys left
  // at their default carry "# default", others "# from <origin>".
  std::string dump() const;
  const Schema& schema() const { return *schema_; }

 private:
  struct Value {
    std::string canonical;  // normalized text, e.g. "true", "0.5, 0.75"
    std::string origin;
    bool is_default = true;
  };
  const KeySpec& spec_for(const std::string& full_name, ValueType wanted, const char* getter) const;
  const Value& value_of(const std::string& full_name) const;

  std::shared_ptr<const Schema> schema_;
  std::map<std::string, Value> values_;
};

// Parses "a, b,c" into trimmed items; "" gives an empty list.
std::vector<std::string> split_list(const std::string& text);

}  // namespace prunus::io
