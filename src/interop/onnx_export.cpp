// A prunus model as an ONNX graph: trace one eval-mode forward pass and turn
// each recorded op (autograd.h's Node) into ONNX nodes.
#include <cmath>
#include <cstring>

#include "prunus/autograd.h"
#include "prunus/error.h"
#include "prunus/interop/onnx.h"
#include "prunus/io/checkpoint.h"
#include "prunus/nn/batchnorm.h"
#include "prunus/nn/state.h"
#include "prunus/prune/stripe_conv2d.h"

namespace prunus {
namespace interop {
namespace {

OnnxAttribute ints_attribute(const std::string& name, std::vector<int64_t> values) {
  OnnxAttribute a;
  a.name = name;
  a.type = OnnxAttribute::Type::Ints;
  a.ints = std::move(values);
  return a;
}
OnnxAttribute int_attribute(const std::string& name, int64_t value) {
  OnnxAttribute a;
  a.name = name;
  a.type = OnnxAttribute::Type::Int;
  a.i = value;
  return a;
}
OnnxAttribute float_attribute(const std::string& name, float value) {
  OnnxAttribute a;
  a.name = name;
  a.type = OnnxAttribute::Type::Float;
  a.f = value;
  return a;
}

class GraphBuilder {
 public:
  GraphBuilder(nn::Module& model, const Shape& input_shape) : model_(model), input_shape_(input_shape) {
    for (const auto& [name, tensor] : nn::state_tensors(model)) state_name_[tensor.impl()] = name;
  }

  OnnxModel build() {
    PRUNUS_CHECK(input_shape_.size() == 3, "ONNX export: the input shape must be C,H,W, got ", shape_str(input_shape_));
    const bool was_training = model_.training();
    model_.train(false);
    Tensor x = Tensor::zeros({1, input_shape_[0], input_shape_[1], input_shape_[2]});
    Tensor y;
    {
      NoGradGuard no_grad;
      TraceGuard trace;
      y = model_(x);
    }
    model_.train(was_training);
    input_ = x;
    PRUNUS_CHECK(y.grad_fn(), "ONNX export: the model's forward pass recorded no ops");
    for (const auto& node : topological_order(y)) emit(*node);

    m_.graph_name = "prunus";
    OnnxValueInfo in;
    in.name = "input";
    in.dims = {-1, input_shape_[0], input_shape_[1], input_shape_[2]};
    in.dim_names = {"batch", "", "", ""};
    m_.inputs.push_back(in);
    OnnxValueInfo out;
    out.name = "logits";
    out.dims = {-1};
    out.dim_names = {"batch"};
    for (size_t d = 1; d < y.shape().size(); ++d) {
      out.dims.push_back(y.shape()[d]);
      out.dim_names.push_back("");
    }
    m_.outputs.push_back(out);
    // The last node writes the graph output.
    const std::string last = value_of(y);
    for (auto& n : m_.nodes)
      for (auto& o : n.outputs)
        if (o == last) o = "logits";
    for (auto& n : m_.nodes)
      for (auto& i : n.inputs)
        if (i == last) i = "logits";
    return m_;
  }

 private:
  // The ONNX name of a tensor a node reads: the graph input, another node's
  // output, or an initializer holding its current value.
  std::string value_of(const Tensor& t) {
    if (t.same_as(input_)) return "input";
    if (t.grad_fn()) {
      auto it = output_name_.find(t.grad_fn().get());
      PRUNUS_CHECK(it != output_name_.end(), "ONNX export: a tensor's producer was not emitted before its reader");
      return it->second;
    }
    auto known = initializer_name_.find(t.impl());
    if (known != initializer_name_.end()) return known->second;
    auto named = state_name_.find(t.impl());
    const std::string name = named != state_name_.end() ? named->second : "constant" + std::to_string(constants_++);
    add_float_initializer(name, t);
    initializer_name_[t.impl()] = name;
    return name;
  }

  void add_float_initializer(const std::string& name, const Tensor& t) {
    OnnxTensor init;
    init.name = name;
    init.data_type = kOnnxFloat;
    init.dims.assign(t.shape().begin(), t.shape().end());
    const Tensor f = t.dtype() == DType::F32 ? t : t.to(DType::F32);
    init.raw_data.assign(reinterpret_cast<const char*>(f.f32()), size_t(f.numel()) * 4);
    m_.initializers.push_back(std::move(init));
  }
  std::string add_int64_initializer(const std::string& name, const std::vector<int64_t>& values) {
    OnnxTensor init;
    init.name = name;
    init.data_type = kOnnxInt64;
    init.dims = {int64_t(values.size())};
    init.raw_data.assign(reinterpret_cast<const char*>(values.data()), values.size() * 8);
    m_.initializers.push_back(std::move(init));
    return name;
  }

  std::string fresh(const Node& node, const std::string& what) {
    const std::string base = (node.module.empty() ? "" : node.module + ".") + what;
    return base + "#" + std::to_string(values_++);
  }

  void add(const std::string& op, const std::string& name, std::vector<std::string> inputs, const std::string& output,
           std::vector<OnnxAttribute> attributes = {}) {
    OnnxNode n;
    n.op_type = op;
    n.name = name;
    n.inputs = std::move(inputs);
    n.outputs = {output};
    n.attributes = std::move(attributes);
    m_.nodes.push_back(std::move(n));
  }

  int attribute(const Node& node, const char* key) const {
    auto it = node.attributes.find(key);
    PRUNUS_CHECK(it != node.attributes.end(), "ONNX export: op '", node.op, "' recorded no '", key, "'");
    return int(it->second);
  }

  template <typename T>
  T& module_of(const Node& node) {
    auto module = model_.find_module(node.module);
    T* typed = module ? dynamic_cast<T*>(module.get()) : nullptr;
    PRUNUS_CHECK(typed, "ONNX export: op '", node.op, "' ran in module '", node.module,
                 "', which is not the module type it needs");
    return *typed;
  }

  void emit(const Node& node) {
    const std::string& op = node.op;
    const std::string out = fresh(node, op);
    output_name_[&node] = out;
    std::vector<std::string> in;
    auto conv_attributes = [&](int64_t kernel) {
      const int64_t s = attribute(node, "stride"), p = attribute(node, "padding");
      return std::vector<OnnxAttribute>{ints_attribute("kernel_shape", {kernel, kernel}),
                                        ints_attribute("strides", {s, s}), ints_attribute("pads", {p, p, p, p})};
    };
    if (op == "conv2d") {
      for (const Tensor& t : node.inputs) in.push_back(value_of(t));
      add("Conv", out, in, out, conv_attributes(node.inputs[1].size(2)));
    } else if (op == "stripe_conv2d") {
      // onnxruntime has no stripe-sparse conv: the dense weight with zero stripes.
      auto& conv = module_of<prune::StripeConv2d>(node);
      const std::string weight = node.module + ".weight";
      add_float_initializer(weight, conv.dense_weight());
      in = {value_of(node.inputs[0]), weight};
      if (node.inputs.size() > 2) in.push_back(value_of(node.inputs[2]));
      add("Conv", out, in, out, conv_attributes(conv.kernel_size));
    } else if (op == "batchnorm2d" || op == "batchnorm1d") {
      PRUNUS_CHECK(attribute(node, "training") == 0, "ONNX export: BN '", node.module, "' ran in training mode");
      auto& bn = module_of<nn::BatchNormBase>(node);
      const std::string x = value_of(node.inputs[0]);
      if (op == "batchnorm2d") {
        add("BatchNormalization", out,
            {x, value_of(node.inputs[1]), value_of(node.inputs[2]), value_of(bn.running_mean), value_of(bn.running_var)},
            out, {float_attribute("epsilon", float(bn.eps))});
      } else {
        // [N, C]: the same per-channel affine map, folded (BatchNormalization wants spatial dims).
        const int64_t c = node.inputs[1].numel();
        Tensor scale = Tensor::empty({1, c}), shift = Tensor::empty({1, c});
        const Tensor g = node.inputs[1].to(DType::F64), b = node.inputs[2].to(DType::F64);
        const Tensor mean = bn.running_mean.to(DType::F64), var = bn.running_var.to(DType::F64);
        for (int64_t i = 0; i < c; ++i) {
          const double s = g.f64()[i] / std::sqrt(var.f64()[i] + bn.eps);
          scale.f32()[i] = float(s);
          shift.f32()[i] = float(b.f64()[i] - mean.f64()[i] * s);
        }
        // Named here, not through value_of: these tensors die with this call, so their
        // addresses may come back for other tensors.
        const std::string scaled = fresh(node, "scaled"), scale_name = node.module + ".folded_scale",
                          shift_name = node.module + ".folded_shift";
        add_float_initializer(scale_name, scale);
        add_float_initializer(shift_name, shift);
        add("Mul", scaled, {x, scale_name}, scaled);
        add("Add", out, {scaled, shift_name}, out);
      }
    } else if (op == "relu") {
      add("Relu", out, {value_of(node.inputs[0])}, out);
    } else if (op == "dropout") {
      add("Identity", out, {value_of(node.inputs[0])}, out);  // eval mode
    } else if (op == "add" || op == "mul") {
      add(op == "add" ? "Add" : "Mul", out, {value_of(node.inputs[0]), value_of(node.inputs[1])}, out);
    } else if (op == "maxpool2d" || op == "avgpool2d") {
      const int64_t k = attribute(node, "kernel"), s = attribute(node, "stride"), p = attribute(node, "padding");
      std::vector<OnnxAttribute> attrs{ints_attribute("kernel_shape", {k, k}), ints_attribute("strides", {s, s}),
                                       ints_attribute("pads", {p, p, p, p})};
      if (op == "avgpool2d") attrs.push_back(int_attribute("count_include_pad", 1));  // prunus divides by k*k
      add(op == "maxpool2d" ? "MaxPool" : "AveragePool", out, {value_of(node.inputs[0])}, out, attrs);
    } else if (op == "global_avgpool") {  // prunus gives [N, C]; ONNX [N, C, 1, 1]
      const std::string pooled = fresh(node, "pooled");
      add("GlobalAveragePool", pooled, {value_of(node.inputs[0])}, pooled);
      add("Flatten", out, {pooled}, out, {int_attribute("axis", 1)});
    } else if (op == "flatten") {
      add("Flatten", out, {value_of(node.inputs[0])}, out, {int_attribute("axis", 1)});
    } else if (op == "reshape") {
      std::vector<int64_t> shape(node.output_shape.begin(), node.output_shape.end());
      PRUNUS_CHECK(!shape.empty() && shape[0] == 1, "ONNX export: reshape in '", node.module,
                   "' changes the batch dimension");
      shape[0] = -1;
      add("Reshape", out, {value_of(node.inputs[0]), add_int64_initializer(fresh(node, "shape"), shape)}, out);
    } else if (op == "subsample_pad_channels") {  // ResNet option A: x[:, :, ::s, ::s], zero channels around
      const int64_t s = attribute(node, "stride");
      const std::string sliced = fresh(node, "subsampled");
      add("Slice", sliced,
          {value_of(node.inputs[0]), add_int64_initializer(fresh(node, "starts"), {0, 0}),
           add_int64_initializer(fresh(node, "ends"), {INT64_MAX, INT64_MAX}),
           add_int64_initializer(fresh(node, "axes"), {2, 3}), add_int64_initializer(fresh(node, "steps"), {s, s})},
          sliced);
      const int64_t before = attribute(node, "pad_before"), after = attribute(node, "pad_after");
      add("Pad", out, {sliced, add_int64_initializer(fresh(node, "pads"), {0, before, 0, 0, 0, after, 0, 0})}, out);
    } else if (op == "concat") {
      for (const Tensor& t : node.inputs) in.push_back(value_of(t));
      add("Concat", out, in, out, {int_attribute("axis", 1)});
    } else if (op == "linear") {
      for (const Tensor& t : node.inputs) in.push_back(value_of(t));
      add("Gemm", out, in, out, {int_attribute("transB", 1)});
    } else {
      PRUNUS_FAIL("ONNX export: op '", op, "' (module '", node.module, "') has no ONNX form in prunus");
    }
  }

  nn::Module& model_;
  Shape input_shape_;
  Tensor input_;
  OnnxModel m_;
  std::map<const TensorImpl*, std::string> state_name_, initializer_name_;
  std::map<const Node*, std::string> output_name_;
  int constants_ = 0, values_ = 0;
};

}  // namespace

OnnxModel onnx_from_model(nn::Module& model, const Shape& input_shape) {
  return GraphBuilder(model, input_shape).build();
}

void export_onnx(const std::string& path, nn::Module& model, const Shape& input_shape) {
  io::write_file_atomic(path, encode_onnx(onnx_from_model(model, input_shape)));
}

}  // namespace interop
}  // namespace prunus
