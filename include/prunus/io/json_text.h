// JSON text: quoting strings for the writers (io::Json in json_writer.h, safetensors
// headers, ONNX-free reports) and a small strict reader for the JSON that
// prunus reads back (safetensors headers). One place for both directions.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace prunus::io {

// "text" with quotes, backslashes and control characters escaped.
std::string json_quote(const std::string& text);

struct JsonValue {
  enum class Kind { Null, Bool, Number, String, Array, Object };
  Kind kind = Kind::Null;
  bool boolean = false;
  std::string text;  // a string's value, or a number's literal as written
  std::vector<JsonValue> items;                              // arrays
  std::vector<std::pair<std::string, JsonValue>> members;    // objects, in file order

  // A non-negative integer literal that fits in 64 bits (no sign, fraction or exponent).
  bool as_count(uint64_t& out) const;
  const char* kind_name() const;
};

// RFC 8259 JSON, one value and nothing after it but whitespace; nesting
// deeper than 64 levels is refused. Duplicate object keys are kept (callers
// that care refuse them). Throws one Error "<what> is not valid JSON: <reason>
// at byte N".
JsonValue parse_json(const std::string& text, const std::string& what);

}  // namespace prunus::io
