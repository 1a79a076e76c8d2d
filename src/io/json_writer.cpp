#include "prunus/io/json_writer.h"

#include <cmath>
#include <cstdio>

#include "prunus/error.h"
#include "prunus/io/json_text.h"
#include "prunus/io/number_text.h"

namespace prunus {
namespace io {

Json::Json(bool value) : kind_(Kind::Bool), bool_(value) {}
Json::Json(int value) : Json(static_cast<int64_t>(value)) {}
Json::Json(int64_t value) : kind_(Kind::Number), integral_(true), integer_(value) {}
Json::Json(double value) : kind_(std::isfinite(value) ? Kind::Number : Kind::Null), number_(value) {}
Json::Json(const char* value) : Json(std::string(value)) {}
Json::Json(std::string value) : kind_(Kind::String), text_(std::move(value)) {}

Json Json::array() {
  Json j;
  j.kind_ = Kind::Array;
  return j;
}

Json Json::object() {
  Json j;
  j.kind_ = Kind::Object;
  return j;
}

Json Json::exact(double value) {
  Json j(value);
  j.exact_ = true;
  return j;
}

Json& Json::one_line() {
  PRUNUS_CHECK(kind_ == Kind::Array || kind_ == Kind::Object, "Json::one_line: the value is not an array or object");
  one_line_ = true;
  return *this;
}

Json& Json::set(const std::string& key, Json value) {
  PRUNUS_CHECK(kind_ == Kind::Object, "Json::set('", key, "'): the value is not an object");
  for (auto& item : items_)
    if (item.first == key) {
      item.second = std::move(value);
      return *this;
    }
  items_.emplace_back(key, std::move(value));
  return *this;
}

Json& Json::push(Json value) {
  PRUNUS_CHECK(kind_ == Kind::Array, "Json::push: the value is not an array");
  items_.emplace_back(std::string(), std::move(value));
  return *this;
}

void Json::write(std::string& out, int indent, int depth, bool flat) const {
  switch (kind_) {
    case Kind::Null: out += "null"; return;
    case Kind::Bool: out += bool_ ? "true" : "false"; return;
    case Kind::Number:
      out += integral_ ? std::to_string(integer_) : exact_ ? round_trip_decimal(number_) : readable_decimal(number_);
      return;
    case Kind::String: out += json_quote(text_); return;
    case Kind::Array:
    case Kind::Object: break;
  }
  const bool is_object = kind_ == Kind::Object;
  if (items_.empty()) {
    out += is_object ? "{}" : "[]";
    return;
  }
  bool scalars = !is_object && items_.size() <= 16;
  for (const auto& item : items_) scalars = scalars && item.second.kind_ != Kind::Array && item.second.kind_ != Kind::Object;
  flat = flat || one_line_ || scalars;
  out += is_object ? "{" : "[";
  const std::string pad(static_cast<size_t>(indent) * (depth + 1), ' ');
  for (size_t i = 0; i < items_.size(); ++i) {
    if (i) out += flat ? ", " : ",";
    if (!flat) out += "\n" + pad;
    if (is_object) out += json_quote(items_[i].first) + ": ";
    items_[i].second.write(out, indent, depth + 1, flat);
  }
  if (!flat) out += "\n" + std::string(static_cast<size_t>(indent) * depth, ' ');
  out += is_object ? "}" : "]";
}

std::string Json::dump(int indent) const {
  std::string out;
  write(out, indent, 0, false);
  return out + "\n";
}

}  // namespace io
}  // namespace prunus
