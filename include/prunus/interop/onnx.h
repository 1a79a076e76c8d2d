// ONNX models (opset 13), written and read by our own protobuf wire-format
// code: the subset of onnx.proto that an inference graph of Conv, BN, Relu,
// Add, pooling, Gemm and friends needs. No protobuf dependency: the format is
// a few field numbers, varints and length-prefixed bytes, and owning the code
// keeps the build a plain Makefile.
//
// OnnxModel is both what the exporter builds and what the reader returns, so
// tests can check an exported file field by field.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "prunus/nn/module.h"
#include "prunus/tensor.h"

namespace prunus {
namespace interop {

constexpr int64_t kOnnxIrVersion = 7;  // the IR version that goes with opset 13
constexpr int64_t kOnnxOpset = 13;
constexpr int32_t kOnnxFloat = 1;      // TensorProto.DataType
constexpr int32_t kOnnxInt64 = 7;

struct OnnxAttribute {
  enum class Type { Float = 1, Int = 2, String = 3, Floats = 6, Ints = 7 };  // AttributeProto.AttributeType
  std::string name;
  Type type = Type::Int;
  float f = 0;
  int64_t i = 0;
  std::string s;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  bool operator==(const OnnxAttribute& o) const;
};

struct OnnxNode {
  std::string op_type, name;
  std::vector<std::string> inputs, outputs;
  std::vector<OnnxAttribute> attributes;
  const OnnxAttribute* attribute(const std::string& name) const;  // nullptr if absent
  bool operator==(const OnnxNode& o) const;
};

struct OnnxTensor {  // an initializer: float32 or int64, stored as raw little-endian bytes
  std::string name;
  int32_t data_type = kOnnxFloat;
  std::vector<int64_t> dims;
  std::string raw_data;
  std::vector<float> floats() const;  // data_type must be kOnnxFloat
  bool operator==(const OnnxTensor& o) const;
};

struct OnnxValueInfo {  // a graph input or output: a float tensor, dims -1 where symbolic
  std::string name;
  int32_t elem_type = kOnnxFloat;
  std::vector<int64_t> dims;
  std::vector<std::string> dim_names;  // "" where the dim is a number
  bool operator==(const OnnxValueInfo& o) const;
};

struct OnnxModel {
  int64_t ir_version = kOnnxIrVersion, opset = kOnnxOpset;
  std::string producer_name = "prunus", producer_version, graph_name;
  std::vector<OnnxNode> nodes;  // in execution order
  std::vector<OnnxTensor> initializers;
  std::vector<OnnxValueInfo> inputs, outputs;
  const OnnxTensor* initializer(const std::string& name) const;  // nullptr if absent
  bool operator==(const OnnxModel& o) const;
};

std::string encode_onnx(const OnnxModel& model);
// Every length is checked against the bytes; unknown fields are skipped;
// malformed input is one Error naming `source`.
OnnxModel decode_onnx(const std::string& bytes, const std::string& source);
OnnxModel read_onnx(const std::string& path);

// The inference graph of `model` (eval mode) for inputs [batch, C, H, W] with
// a symbolic batch: a forward pass on one image is traced and each recorded
// op becomes ONNX nodes; parameters and buffers become initializers named as
// in the model. StripeConv2d is written as a dense Conv whose removed stripes
// are zeros (onnxruntime has no stripe-sparse conv; a zero-filled Conv runs
// at dense speed, and the thinned convs carry the FLOPs cut). Throws naming
// any op with no ONNX form. The model is left in the mode it was in.
OnnxModel onnx_from_model(nn::Module& model, const Shape& input_shape);
void export_onnx(const std::string& path, nn::Module& model, const Shape& input_shape);

}  // namespace interop
}  // namespace prunus
