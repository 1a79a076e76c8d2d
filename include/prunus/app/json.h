// A small JSON value (null, bool, number, string, array, object with keys in
// insertion order) and its pretty printer, for the summaries the CLI writes.
// Reading JSON back (safetensors headers) is io::parse_json.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace prunus {
namespace app {

class Json {
 public:
  enum class Kind { Null, Bool, Number, String, Array, Object };

  Json() = default;  // null
  Json(bool value);  // NOLINT: implicit so that set("k", true) reads naturally
  Json(int value);
  Json(int64_t value);
  Json(double value);  // NaN and infinities are written as null (JSON has no spelling for them)
  Json(const char* value);
  Json(std::string value);

  static Json array();
  static Json object();

  // Objects: adds or replaces `key`. Arrays: appends. Throw on another kind.
  Json& set(const std::string& key, Json value);
  Json& push(Json value);

  Kind kind() const { return kind_; }
  size_t size() const { return items_.size(); }
  // Pretty printed with `indent` spaces per level; short arrays of numbers stay on one line.
  std::string dump(int indent = 2) const;

 private:
  void write(std::string& out, int indent, int depth) const;
  Kind kind_ = Kind::Null;
  bool bool_ = false;
  bool integral_ = false;
  int64_t integer_ = 0;
  double number_ = 0;
  std::string text_;
  std::vector<std::pair<std::string, Json>> items_;  // array items have empty keys
};

}  // namespace app
}  // namespace prunus
