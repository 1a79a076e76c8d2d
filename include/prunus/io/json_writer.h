// A small JSON value (null, bool, number, string, array, object with keys in
// insertion order) and its pretty printer: the one JSON writer, for the CLI's
// summaries, the comparison table and the pruning report. Reading JSON back
// (safetensors headers) is io::parse_json in json_text.h.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace prunus {
namespace io {

class Json {
 public:
  enum class Kind { Null, Bool, Number, String, Array, Object };

  Json() = default;  // null
  Json(bool value);  // NOLINT: implicit so that set("k", true) reads naturally
  Json(int value);
  Json(int64_t value);
  Json(double value);  // ten significant digits, for people; NaN and infinities are null (JSON has no spelling)
  Json(const char* value);
  Json(std::string value);

  static Json array();
  static Json object();
  // A number written so that it reads back as the same double ("%.17g"), for files read by programs.
  static Json exact(double value);

  // Objects: adds or replaces `key`. Arrays: appends. Throw on another kind.
  Json& set(const std::string& key, Json value);
  Json& push(Json value);
  // This array or object, and all in it, is written on one line.
  Json& one_line();

  Kind kind() const { return kind_; }
  size_t size() const { return items_.size(); }
  // Pretty printed with `indent` spaces per level: an item per line, except in a
  // one_line() value and in an array of at most 16 numbers, strings or bools.
  std::string dump(int indent = 2) const;

 private:
  void write(std::string& out, int indent, int depth, bool flat) const;
  Kind kind_ = Kind::Null;
  bool bool_ = false;
  bool integral_ = false;
  bool exact_ = false;
  bool one_line_ = false;
  int64_t integer_ = 0;
  double number_ = 0;
  std::string text_;
  std::vector<std::pair<std::string, Json>> items_;  // array items have empty keys
};

}  // namespace io
}  // namespace prunus
