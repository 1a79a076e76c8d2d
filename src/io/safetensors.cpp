#include "prunus/io/safetensors.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "prunus/error.h"
#include "prunus/io/checkpoint.h"
#include "prunus/io/json_text.h"

namespace prunus::io {
namespace {

constexpr uint64_t kMaxHeaderBytes = 100u << 20;  // the reference implementation's limit
constexpr size_t kMaxDims = 16;

struct DTypeInfo {
  const char* name;
  size_t bytes;
};
constexpr DTypeInfo kDTypes[] = {{"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8},
                                 {"I32", 4}, {"I16", 2}, {"I8", 1},  {"U8", 1},   {"BOOL", 1}};

const DTypeInfo* find_dtype(const std::string& name) {
  for (const DTypeInfo& d : kDTypes)
    if (name == d.name) return &d;
  return nullptr;
}

uint64_t load_le(const uint8_t* p, size_t bytes) {
  uint64_t v = 0;
  for (size_t i = 0; i < bytes; ++i) v |= uint64_t(p[i]) << (8 * i);
  return v;
}

float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h >> 15) << 31;
  uint32_t exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF, bits;
  if (exponent == 0x1F) {
    bits = sign | 0x7F800000u | (mantissa << 13);  // inf / NaN
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;
  } else {  // subnormal: normalize
    int shift = 0;
    while (!(mantissa & 0x400)) {
      mantissa <<= 1;
      ++shift;
    }
    bits = sign | uint32_t(113 - shift) << 23 | ((mantissa & 0x3FF) << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

Tensor decode(const DTypeInfo& d, const Shape& shape, const uint8_t* p) {
  const std::string name = d.name;
  const int64_t n = shape_numel(shape);
  if (name == "F32" || name == "F16" || name == "BF16") {
    Tensor t = Tensor::empty(shape, DType::F32);
    float* out = t.f32();
    for (int64_t i = 0; i < n; ++i, p += d.bytes) {
      const uint64_t raw = load_le(p, d.bytes);
      if (name == "F16") {
        out[i] = half_to_float(uint16_t(raw));
      } else {
        const uint32_t bits = name == "F32" ? uint32_t(raw) : uint32_t(raw) << 16;  // BF16 is F32's top half
        std::memcpy(&out[i], &bits, 4);
      }
    }
    return t;
  }
  Tensor t = Tensor::empty(shape, DType::F64);
  double* out = t.f64();
  for (int64_t i = 0; i < n; ++i, p += d.bytes) {
    const uint64_t raw = load_le(p, d.bytes);
    if (name == "F64") {
      std::memcpy(&out[i], &raw, 8);
    } else if (name == "U8" || name == "BOOL") {
      out[i] = double(raw);
    } else {  // signed integers: sign-extend from d.bytes
      const int shift = int(64 - 8 * d.bytes);
      out[i] = double(int64_t(raw << shift) >> shift);
    }
  }
  return t;
}

struct Span {
  uint64_t begin, end;
  size_t entry;
};

}  // namespace

const SafeTensorsEntry* SafeTensors::find(const std::string& name) const {
  for (const SafeTensorsEntry& e : tensors)
    if (e.name == name) return &e;
  return nullptr;
}

SafeTensors parse_safetensors(const std::vector<uint8_t>& bytes, const std::string& source) {
  const std::string what = "safetensors file '" + source + "'";
  PRUNUS_CHECK(bytes.size() >= 8, what, " is truncated: ", bytes.size(), " bytes, less than the 8-byte header length");
  const uint64_t header_bytes = load_le(bytes.data(), 8);
  PRUNUS_CHECK(header_bytes <= kMaxHeaderBytes, what, " is corrupted: its header claims ", header_bytes,
               " bytes (the format's limit is ", kMaxHeaderBytes, ")");
  PRUNUS_CHECK(header_bytes <= bytes.size() - 8, what, " is truncated: its header claims ", header_bytes,
               " bytes but only ", bytes.size() - 8, " follow the length");
  const std::string header(reinterpret_cast<const char*>(bytes.data()) + 8, size_t(header_bytes));
  const JsonValue root = parse_json(header, what + "'s header");
  PRUNUS_CHECK(root.kind == JsonValue::Kind::Object, what, "'s header is ", root.kind_name(),
               ", expected a JSON object");
  const uint8_t* data = bytes.data() + 8 + header_bytes;
  const uint64_t data_bytes = bytes.size() - 8 - header_bytes;

  SafeTensors result;
  result.source = source;
  std::vector<Span> spans;
  std::vector<std::pair<const DTypeInfo*, Shape>> layouts;
  std::set<std::string> seen;
  for (const auto& [name, entry] : root.members) {
    PRUNUS_CHECK(seen.insert(name).second, what, " names '", name, "' twice in its header");
    if (name == "__metadata__") {
      PRUNUS_CHECK(entry.kind == JsonValue::Kind::Object, what, ": __metadata__ is ", entry.kind_name(),
                   ", expected an object of strings");
      for (const auto& [key, value] : entry.members) {
        PRUNUS_CHECK(value.kind == JsonValue::Kind::String, what, ": __metadata__ entry '", key, "' is ",
                     value.kind_name(), ", expected a string");
        result.metadata[key] = value.text;
      }
      continue;
    }
    const std::string where = what + ": tensor '" + name + "'";
    PRUNUS_CHECK(!name.empty(), what, " has a tensor with an empty name");
    PRUNUS_CHECK(entry.kind == JsonValue::Kind::Object, where, " is ", entry.kind_name(), ", expected an object");
    const JsonValue *dtype = nullptr, *shape = nullptr, *offsets = nullptr;
    for (const auto& [key, value] : entry.members) {
      if (key == "dtype") dtype = &value;
      else if (key == "shape") shape = &value;
      else if (key == "data_offsets") offsets = &value;
      else throw Error(where + " has an unknown field '" + key + "' (expected dtype, shape, data_offsets)");
    }
    PRUNUS_CHECK(dtype && shape && offsets, where, " lacks ", !dtype ? "dtype" : !shape ? "shape" : "data_offsets");
    PRUNUS_CHECK(dtype->kind == JsonValue::Kind::String, where, ": dtype is ", dtype->kind_name(), ", expected a string");
    const DTypeInfo* d = find_dtype(dtype->text);
    PRUNUS_CHECK(d, where, " has unknown dtype '", dtype->text,
                 "' (known: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)");
    PRUNUS_CHECK(shape->kind == JsonValue::Kind::Array && shape->items.size() <= kMaxDims, where,
                 ": shape must be an array of at most ", kMaxDims, " sizes");
    Shape dims;
    uint64_t count = 1;
    for (const JsonValue& v : shape->items) {
      uint64_t size = 0;
      PRUNUS_CHECK(v.as_count(size) && size <= (uint64_t(1) << 40), where, ": shape entry '", v.text,
                   "' is not a size");
      count = size == 0 || count <= UINT64_MAX / size ? count * size : UINT64_MAX;
      dims.push_back(int64_t(size));
    }
    PRUNUS_CHECK(offsets->kind == JsonValue::Kind::Array && offsets->items.size() == 2, where,
                 ": data_offsets must be [begin, end]");
    uint64_t begin = 0, end = 0;
    PRUNUS_CHECK(offsets->items[0].as_count(begin) && offsets->items[1].as_count(end) && begin <= end, where,
                 ": data_offsets must be two non-negative integers, begin <= end");
    PRUNUS_CHECK(end <= data_bytes, where, " ends at byte ", end, " of the data, but the file holds only ", data_bytes,
                 " data bytes (truncated?)");
    PRUNUS_CHECK(count != UINT64_MAX && count * d->bytes == end - begin, where, ": shape ", shape_str(dims), " of ",
                 d->name, " needs ", count, " x ", d->bytes, " bytes, but data_offsets span ", end - begin);
    spans.push_back({begin, end, layouts.size()});
    layouts.emplace_back(d, dims);
    result.tensors.push_back({name, d->name, Tensor()});
  }
  // The tensors must tile the data: sorted by offset, each starts where the last ended.
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t at = 0;
  for (const Span& s : spans) {
    const std::string& name = result.tensors[s.entry].name;
    PRUNUS_CHECK(s.begin == at, what, ": tensor '", name, "' starts at data byte ", s.begin, " but the previous ",
                 "tensor ends at ", at, s.begin < at ? " (overlapping tensors)" : " (a gap)");
    at = s.end;
  }
  PRUNUS_CHECK(at == data_bytes, what, " has ", data_bytes - at, " bytes after its last tensor");

  std::vector<SafeTensorsEntry> ordered;
  for (const Span& s : spans) {
    SafeTensorsEntry e = result.tensors[s.entry];
    e.value = decode(*layouts[s.entry].first, layouts[s.entry].second, data + s.begin);
    ordered.push_back(std::move(e));
  }
  result.tensors = std::move(ordered);
  return result;
}

SafeTensors read_safetensors(const std::string& path) {
  return parse_safetensors(read_file_bytes(path, "safetensors file '" + path + "'"), path);
}

std::string encode_safetensors(const std::vector<std::pair<std::string, Tensor>>& tensors,
                               const std::map<std::string, std::string>& metadata) {
  std::string header = "{";
  std::string data;
  std::set<std::string> names;
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [key, value] : metadata) {
      header += (first ? "" : ",") + json_quote(key) + ":" + json_quote(value);
      first = false;
    }
    header += "}";
  }
  for (const auto& [name, tensor] : tensors) {
    PRUNUS_CHECK(!name.empty() && name != "__metadata__", "safetensors: a tensor may not be named '", name, "'");
    PRUNUS_CHECK(names.insert(name).second, "safetensors: tensor name '", name, "' given twice");
    PRUNUS_CHECK(tensor.defined() && tensor.device() == Device::CPU, "safetensors: tensor '", name,
                 "' must be a defined CPU tensor");
    const Tensor& t = tensor;
    const bool f32 = t.dtype() == DType::F32;
    const size_t bytes = size_t(t.numel()) * (f32 ? 4 : 8);
    header += (header.size() > 1 ? "," : "") + json_quote(name) + ":{\"dtype\":\"" + (f32 ? "F32" : "F64") +
              "\",\"shape\":[";
    for (size_t d = 0; d < t.shape().size(); ++d) header += (d ? "," : "") + std::to_string(t.shape()[d]);
    header += "],\"data_offsets\":[" + std::to_string(data.size()) + "," + std::to_string(data.size() + bytes) + "]}";
    // Tensors are contiguous and prunus runs on little-endian hosts (as its checkpoints assume).
    data.append(f32 ? reinterpret_cast<const char*>(t.f32()) : reinterpret_cast<const char*>(t.f64()), bytes);
  }
  header += "}";
  while ((8 + header.size()) % 8 != 0) header += ' ';  // aligns the data, as the reference writer does
  std::string out;
  for (int b = 0; b < 8; ++b) out += char((uint64_t(header.size()) >> (8 * b)) & 0xFF);
  return out + header + data;
}

void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  write_file_atomic(path, encode_safetensors(tensors, metadata));
}

}  // namespace prunus::io
