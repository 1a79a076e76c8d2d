// The protobuf wire format of the onnx.proto messages prunus writes and reads.
// Field numbers are onnx.proto's (https://github.com/onnx/onnx/blob/main/onnx/onnx.proto).
#include <cstring>

#include "prunus/error.h"
#include "prunus/interop/onnx.h"
#include "prunus/io/checkpoint.h"

namespace prunus {
namespace interop {
namespace {

// ------------------------------------------------------------ writing

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kBytes = 2, kFixed32 = 5 };

class Writer {
 public:
  void varint(uint64_t v) {
    while (v >= 0x80) {
      out_ += char(uint8_t(v) | 0x80);
      v >>= 7;
    }
    out_ += char(uint8_t(v));
  }
  void key(uint32_t field, WireType type) { varint((uint64_t(field) << 3) | type); }
  void int_field(uint32_t field, int64_t v) {
    key(field, kVarint);
    varint(uint64_t(v));  // negative int64 is ten bytes, as protobuf does
  }
  void bytes_field(uint32_t field, const std::string& bytes) {
    key(field, kBytes);
    varint(bytes.size());
    out_ += bytes;
  }
  void float_field(uint32_t field, float f) {
    key(field, kFixed32);
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    for (int b = 0; b < 4; ++b) out_ += char((bits >> (8 * b)) & 0xFF);
  }
  void message_field(uint32_t field, const Writer& message) { bytes_field(field, message.out_); }
  const std::string& bytes() const { return out_; }

 private:
  std::string out_;
};

Writer encode_attribute(const OnnxAttribute& a) {
  Writer w;
  w.bytes_field(1, a.name);
  switch (a.type) {
    case OnnxAttribute::Type::Float: w.float_field(2, a.f); break;
    case OnnxAttribute::Type::Int: w.int_field(3, a.i); break;
    case OnnxAttribute::Type::String: w.bytes_field(4, a.s); break;
    case OnnxAttribute::Type::Floats:
      for (float f : a.floats) w.float_field(7, f);
      break;
    case OnnxAttribute::Type::Ints:
      for (int64_t i : a.ints) w.int_field(8, i);
      break;
  }
  w.int_field(20, int64_t(a.type));
  return w;
}

Writer encode_node(const OnnxNode& n) {
  Writer w;
  for (const auto& s : n.inputs) w.bytes_field(1, s);
  for (const auto& s : n.outputs) w.bytes_field(2, s);
  w.bytes_field(3, n.name);
  w.bytes_field(4, n.op_type);
  for (const auto& a : n.attributes) w.message_field(5, encode_attribute(a));
  return w;
}

Writer encode_tensor(const OnnxTensor& t) {
  Writer w;
  for (int64_t d : t.dims) w.int_field(1, d);
  w.int_field(2, t.data_type);
  w.bytes_field(8, t.name);
  w.bytes_field(9, t.raw_data);
  return w;
}

Writer encode_value_info(const OnnxValueInfo& v) {
  Writer shape;
  for (size_t d = 0; d < v.dims.size(); ++d) {
    Writer dim;
    if (d < v.dim_names.size() && !v.dim_names[d].empty())
      dim.bytes_field(2, v.dim_names[d]);
    else
      dim.int_field(1, v.dims[d]);
    shape.message_field(1, dim);
  }
  Writer tensor_type;
  tensor_type.int_field(1, v.elem_type);
  tensor_type.message_field(2, shape);
  Writer type;
  type.message_field(1, tensor_type);
  Writer w;
  w.bytes_field(1, v.name);
  w.message_field(2, type);
  return w;
}

// ------------------------------------------------------------ reading

class Reader {
 public:
  Reader(const std::string& bytes, size_t begin, size_t end, const std::string& what)
      : s_(bytes), pos_(begin), end_(end), what_(what) {}
  bool done() const { return pos_ >= end_; }

  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      PRUNUS_CHECK(pos_ < end_, what_, " is truncated inside a varint");
      const uint8_t b = uint8_t(s_[pos_++]);
      v |= uint64_t(b & 0x7F) << shift;
      if (!(b & 0x80)) return v;
    }
    throw Error(what_ + " is corrupted: a varint longer than 10 bytes");
  }
  // The next field: its number and wire type.
  std::pair<uint32_t, uint32_t> key() {
    const uint64_t k = varint();
    PRUNUS_CHECK((k >> 3) > 0 && (k >> 3) < (1u << 29), what_, " is corrupted: field number ", (k >> 3));
    return {uint32_t(k >> 3), uint32_t(k & 7)};
  }
  // A length-delimited field's bounds [begin, end).
  std::pair<size_t, size_t> span() {
    const uint64_t n = varint();
    PRUNUS_CHECK(n <= end_ - pos_, what_, " is truncated: a field claims ", n, " bytes, ", end_ - pos_, " remain");
    const size_t begin = pos_;
    pos_ += size_t(n);
    return {begin, pos_};
  }
  std::string bytes() {
    const auto [b, e] = span();
    return s_.substr(b, e - b);
  }
  Reader sub() {
    const auto [b, e] = span();
    return Reader(s_, b, e, what_);
  }
  float fixed32_float() {
    PRUNUS_CHECK(end_ - pos_ >= 4, what_, " is truncated inside a float");
    uint32_t bits = 0;
    for (int b = 0; b < 4; ++b) bits |= uint32_t(uint8_t(s_[pos_ + b])) << (8 * b);
    pos_ += 4;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
  }
  void skip(uint32_t type) {
    switch (type) {
      case kVarint: varint(); return;
      case kFixed64: advance(8); return;
      case kBytes: span(); return;
      case kFixed32: advance(4); return;
      default: throw Error(what_ + " is corrupted: wire type " + std::to_string(type));
    }
  }
  void expect(uint32_t type, uint32_t wanted, const char* field) {
    PRUNUS_CHECK(type == wanted, what_, " is corrupted: field ", field, " has wire type ", type);
  }
  // repeated int64 / float, packed or not.
  template <typename F>
  void repeated(uint32_t type, uint32_t scalar_type, F read_one) {
    if (type == kBytes) {
      Reader packed = sub();
      while (!packed.done()) read_one(packed);
    } else {
      expect(type, scalar_type, "of a repeated number");
      read_one(*this);
    }
  }

 private:
  void advance(size_t n) {
    PRUNUS_CHECK(end_ - pos_ >= n, what_, " is truncated");
    pos_ += n;
  }
  const std::string& s_;
  size_t pos_, end_;
  const std::string& what_;
};

OnnxAttribute decode_attribute(Reader r) {
  OnnxAttribute a;
  int64_t type = 0;
  while (!r.done()) {
    const auto [field, wire] = r.key();
    switch (field) {
      case 1: r.expect(wire, kBytes, "AttributeProto.name"); a.name = r.bytes(); break;
      case 2: r.expect(wire, kFixed32, "AttributeProto.f"); a.f = r.fixed32_float(); break;
      case 3: r.expect(wire, kVarint, "AttributeProto.i"); a.i = int64_t(r.varint()); break;
      case 4: r.expect(wire, kBytes, "AttributeProto.s"); a.s = r.bytes(); break;
      case 7: r.repeated(wire, kFixed32, [&](Reader& x) { a.floats.push_back(x.fixed32_float()); }); break;
      case 8: r.repeated(wire, kVarint, [&](Reader& x) { a.ints.push_back(int64_t(x.varint())); }); break;
      case 20: r.expect(wire, kVarint, "AttributeProto.type"); type = int64_t(r.varint()); break;
      default: r.skip(wire);
    }
  }
  a.type = OnnxAttribute::Type(type);
  return a;
}

OnnxNode decode_node(Reader r) {
  OnnxNode n;
  while (!r.done()) {
    const auto [field, wire] = r.key();
    switch (field) {
      case 1: r.expect(wire, kBytes, "NodeProto.input"); n.inputs.push_back(r.bytes()); break;
      case 2: r.expect(wire, kBytes, "NodeProto.output"); n.outputs.push_back(r.bytes()); break;
      case 3: r.expect(wire, kBytes, "NodeProto.name"); n.name = r.bytes(); break;
      case 4: r.expect(wire, kBytes, "NodeProto.op_type"); n.op_type = r.bytes(); break;
      case 5: r.expect(wire, kBytes, "NodeProto.attribute"); n.attributes.push_back(decode_attribute(r.sub())); break;
      default: r.skip(wire);
    }
  }
  return n;
}

OnnxTensor decode_tensor(Reader r) {
  OnnxTensor t;
  while (!r.done()) {
    const auto [field, wire] = r.key();
    switch (field) {
      case 1: r.repeated(wire, kVarint, [&](Reader& x) { t.dims.push_back(int64_t(x.varint())); }); break;
      case 2: r.expect(wire, kVarint, "TensorProto.data_type"); t.data_type = int32_t(r.varint()); break;
      case 8: r.expect(wire, kBytes, "TensorProto.name"); t.name = r.bytes(); break;
      case 9: r.expect(wire, kBytes, "TensorProto.raw_data"); t.raw_data = r.bytes(); break;
      default: r.skip(wire);
    }
  }
  return t;
}

OnnxValueInfo decode_value_info(Reader r) {
  OnnxValueInfo v;
  while (!r.done()) {
    const auto [field, wire] = r.key();
    if (field == 1 && wire == kBytes) {
      v.name = r.bytes();
    } else if (field == 2 && wire == kBytes) {
      Reader type = r.sub();
      while (!type.done()) {
        const auto [tf, tw] = type.key();
        if (tf != 1 || tw != kBytes) {
          type.skip(tw);
          continue;
        }
        Reader tensor_type = type.sub();
        while (!tensor_type.done()) {
          const auto [f, w] = tensor_type.key();
          if (f == 1 && w == kVarint) {
            v.elem_type = int32_t(tensor_type.varint());
          } else if (f == 2 && w == kBytes) {
            Reader shape = tensor_type.sub();
            while (!shape.done()) {
              const auto [sf, sw] = shape.key();
              if (sf != 1 || sw != kBytes) {
                shape.skip(sw);
                continue;
              }
              Reader dim = shape.sub();
              int64_t value = -1;
              std::string name;
              while (!dim.done()) {
                const auto [df, dw] = dim.key();
                if (df == 1 && dw == kVarint) value = int64_t(dim.varint());
                else if (df == 2 && dw == kBytes) name = dim.bytes();
                else dim.skip(dw);
              }
              v.dims.push_back(name.empty() ? value : -1);
              v.dim_names.push_back(name);
            }
          } else {
            tensor_type.skip(w);
          }
        }
      }
    } else {
      r.skip(wire);
    }
  }
  return v;
}

}  // namespace

bool OnnxAttribute::operator==(const OnnxAttribute& o) const {
  return name == o.name && type == o.type && f == o.f && i == o.i && s == o.s && floats == o.floats && ints == o.ints;
}
bool OnnxNode::operator==(const OnnxNode& o) const {
  return op_type == o.op_type && name == o.name && inputs == o.inputs && outputs == o.outputs &&
         attributes == o.attributes;
}
bool OnnxTensor::operator==(const OnnxTensor& o) const {
  return name == o.name && data_type == o.data_type && dims == o.dims && raw_data == o.raw_data;
}
bool OnnxValueInfo::operator==(const OnnxValueInfo& o) const {
  return name == o.name && elem_type == o.elem_type && dims == o.dims && dim_names == o.dim_names;
}
bool OnnxModel::operator==(const OnnxModel& o) const {
  return ir_version == o.ir_version && opset == o.opset && producer_name == o.producer_name &&
         producer_version == o.producer_version && graph_name == o.graph_name && nodes == o.nodes &&
         initializers == o.initializers && inputs == o.inputs && outputs == o.outputs;
}

const OnnxAttribute* OnnxNode::attribute(const std::string& wanted) const {
  for (const auto& a : attributes)
    if (a.name == wanted) return &a;
  return nullptr;
}

const OnnxTensor* OnnxModel::initializer(const std::string& wanted) const {
  for (const auto& t : initializers)
    if (t.name == wanted) return &t;
  return nullptr;
}

std::vector<float> OnnxTensor::floats() const {
  PRUNUS_CHECK(data_type == kOnnxFloat, "ONNX initializer '", name, "' is not float32 (data_type ", data_type, ")");
  PRUNUS_CHECK(raw_data.size() % 4 == 0, "ONNX initializer '", name, "' has ", raw_data.size(), " raw bytes");
  std::vector<float> out(raw_data.size() / 4);
  std::memcpy(out.data(), raw_data.data(), raw_data.size());  // little-endian host
  return out;
}

std::string encode_onnx(const OnnxModel& m) {
  Writer graph;
  for (const auto& n : m.nodes) graph.message_field(1, encode_node(n));
  graph.bytes_field(2, m.graph_name);
  for (const auto& t : m.initializers) graph.message_field(5, encode_tensor(t));
  for (const auto& v : m.inputs) graph.message_field(11, encode_value_info(v));
  for (const auto& v : m.outputs) graph.message_field(12, encode_value_info(v));
  Writer opset;
  opset.bytes_field(1, "");
  opset.int_field(2, m.opset);
  Writer model;
  model.int_field(1, m.ir_version);
  model.bytes_field(2, m.producer_name);
  model.bytes_field(3, m.producer_version);
  model.message_field(7, graph);
  model.message_field(8, opset);
  return model.bytes();
}

OnnxModel decode_onnx(const std::string& bytes, const std::string& source) {
  const std::string what = "ONNX file '" + source + "'";
  OnnxModel m;
  m.opset = 0;
  bool has_graph = false;
  Reader r(bytes, 0, bytes.size(), what);
  while (!r.done()) {
    const auto [field, wire] = r.key();
    if (field == 1 && wire == kVarint) {
      m.ir_version = int64_t(r.varint());
    } else if (field == 2 && wire == kBytes) {
      m.producer_name = r.bytes();
    } else if (field == 3 && wire == kBytes) {
      m.producer_version = r.bytes();
    } else if (field == 8 && wire == kBytes) {
      Reader op = r.sub();
      std::string domain;
      int64_t version = 0;
      while (!op.done()) {
        const auto [f, w] = op.key();
        if (f == 1 && w == kBytes) domain = op.bytes();
        else if (f == 2 && w == kVarint) version = int64_t(op.varint());
        else op.skip(w);
      }
      if (domain.empty() || domain == "ai.onnx") m.opset = version;
    } else if (field == 7 && wire == kBytes) {
      has_graph = true;
      Reader g = r.sub();
      while (!g.done()) {
        const auto [f, w] = g.key();
        if (w != kBytes) {
          g.skip(w);
          continue;
        }
        switch (f) {
          case 1: m.nodes.push_back(decode_node(g.sub())); break;
          case 2: m.graph_name = g.bytes(); break;
          case 5: m.initializers.push_back(decode_tensor(g.sub())); break;
          case 11: m.inputs.push_back(decode_value_info(g.sub())); break;
          case 12: m.outputs.push_back(decode_value_info(g.sub())); break;
          default: g.skip(w);
        }
      }
    } else {
      r.skip(wire);
    }
  }
  PRUNUS_CHECK(has_graph, what, " has no graph (is it an ONNX model?)");
  return m;
}

OnnxModel read_onnx(const std::string& path) {
  const std::vector<uint8_t> bytes = io::read_file_bytes(path, "ONNX file '" + path + "'");
  return decode_onnx(std::string(bytes.begin(), bytes.end()), path);
}

}  // namespace interop
}  // namespace prunus
