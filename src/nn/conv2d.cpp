#include "prunus/nn/conv2d.h"

#include <cmath>
#include <mutex>

#include "prunus/autograd.h"
#include "prunus/nn/description.h"
#include "prunus/nn/init.h"
#include "prunus/nn/shape_only.h"
#include "prunus/ops.h"

namespace prunus {
namespace nn {

namespace {

struct GateKindEntry {
  std::string kind;
  ConvGatePattern pattern;
  bool described_when_absent;  // the built-in kinds: descriptions always list them
};

std::mutex gate_kinds_mutex;

// A deque: push_back keeps the entries where they are, so pointers to them stay valid.
std::deque<GateKindEntry>& gate_kinds() {
  static std::deque<GateKindEntry> kinds{{"stripe", {false, true, true}, true}, {"channel", {true, false, false}, true}};
  return kinds;
}

const GateKindEntry* find_entry(const std::string& kind) {
  std::lock_guard<std::mutex> lock(gate_kinds_mutex);
  for (const GateKindEntry& e : gate_kinds())
    if (e.kind == kind) return &e;
  return nullptr;
}

bool same_pattern(const ConvGatePattern& a, const ConvGatePattern& b) {
  return a.channels == b.channels && a.rows == b.rows && a.columns == b.columns;
}

}  // namespace

void register_conv_gate_kind(const std::string& kind, ConvGatePattern pattern) {
  PRUNUS_CHECK(!kind.empty() && kind.find_first_of(" ={}") == std::string::npos, "Conv2d gate kind '", kind,
               "': a kind is a non-empty word");
  std::lock_guard<std::mutex> lock(gate_kinds_mutex);
  for (const GateKindEntry& e : gate_kinds())
    if (e.kind == kind) {
      PRUNUS_CHECK(same_pattern(e.pattern, pattern), "Conv2d gate kind '", kind,
                   "' is already registered with another shape");
      return;
    }
  gate_kinds().push_back({kind, pattern, false});
}

const ConvGatePattern* find_conv_gate_kind(const std::string& kind) {
  const GateKindEntry* e = find_entry(kind);
  return e ? &e->pattern : nullptr;
}

Conv2d::Conv2d(int in_channels_, int out_channels_, int kernel_size_, int stride_, int padding_, bool with_bias)
    : in_channels(in_channels_),
      out_channels(out_channels_),
      kernel_size(kernel_size_),
      stride(stride_),
      padding(padding_) {
  PRUNUS_CHECK(in_channels > 0 && out_channels > 0 && kernel_size > 0 && stride > 0 && padding >= 0,
               "Conv2d(in_channels=", in_channels, ", out_channels=", out_channels, ", kernel_size=", kernel_size,
               ", stride=", stride, ", padding=", padding,
               "): channels, kernel size and stride must be positive and padding non-negative");
  weight = kaiming_normal_fan_out(weight_shape());
  if (with_bias) bias = uniform_symmetric({out_channels}, 1.0 / std::sqrt(double(in_channels) * kernel_size * kernel_size));
  register_parameter("weight", &weight);
  register_parameter("bias", &bias);
  register_buffer("mask", &mask);
  std::vector<std::string> kinds;
  {
    std::lock_guard<std::mutex> lock(gate_kinds_mutex);
    for (const GateKindEntry& e : gate_kinds()) kinds.push_back(e.kind);
  }
  for (const std::string& kind : kinds) add_slot(kind);
  register_buffer("constant_input_weight", &constant_input_weight);
}

Conv2d::GateSlot* Conv2d::find_slot(const std::string& kind) {
  for (GateSlot& s : gates_)
    if (s.kind == kind) return &s;
  return nullptr;
}

const Conv2d::GateSlot* Conv2d::find_slot(const std::string& kind) const {
  for (const GateSlot& s : gates_)
    if (s.kind == kind) return &s;
  return nullptr;
}

Conv2d::GateSlot& Conv2d::add_slot(const std::string& kind) {
  const ConvGatePattern* pattern = find_conv_gate_kind(kind);
  PRUNUS_CHECK(pattern, "Conv2d: no gate kind '", kind, "' is registered (prune::register_granularity adds one)");
  gates_.push_back({kind, *pattern, Tensor()});
  register_parameter(kind + "_gate", &gates_.back().tensor, /*is_gate=*/true);
  return gates_.back();
}

Tensor& Conv2d::gate(const std::string& kind) {
  if (GateSlot* s = find_slot(kind)) return s->tensor;
  return add_slot(kind).tensor;  // a kind registered after this conv was built
}

const Tensor& Conv2d::gate(const std::string& kind) const {
  if (const GateSlot* s = find_slot(kind)) return s->tensor;
  PRUNUS_CHECK(find_conv_gate_kind(kind), "Conv2d '", full_name(), "': no gate kind '", kind, "' is registered");
  static const Tensor undefined;
  return undefined;
}

std::vector<std::pair<std::string, Tensor>> Conv2d::defined_gates() const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const GateSlot& s : gates_)
    if (s.tensor.defined()) out.emplace_back(s.kind, s.tensor);
  return out;
}

bool Conv2d::has_pruning_state() const { return mask.defined() || !defined_gates().empty(); }

Tensor add_constant_input_response(const Tensor& y, const Tensor& x, const Tensor& w, int stride, int padding) {
  if (!w.defined() || shape_only_active()) return y;
  Tensor ones = Tensor::ones({1, 1, x.size(2), x.size(3)}, x.dtype());
  const Tensor response = ops::conv2d(ones, w, Tensor(), stride, padding);
  if (would_record({y, response}) || y.dtype() != DType::F32 || response.dtype() != DType::F32)
    return ops::add(y, response);
  // Inference: y is the caller's fresh conv output, so add in place (the same sums as ops::add).
  float* out = y.f32();
  const float* add = response.f32();
  const int64_t batch = y.size(0), plane = y.numel() / batch;
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t i = 0; i < plane; ++i) out[n * plane + i] += add[i];
  return y;
}

static void check_slot(const char* what, const std::string& module, const Tensor& t, const Shape& expected) {
  if (!t.defined()) return;
  PRUNUS_CHECK(t.shape() == expected, "Conv2d '", module, "': ", what, " has shape ", shape_str(t.shape()),
               " but in_channels/out_channels/kernel_size say ", shape_str(expected),
               " (update the integer fields when replacing tensors)");
}

void Conv2d::check_state() const {
  PRUNUS_CHECK(weight.defined(), "Conv2d '", full_name(), "': weight is undefined");
  const int64_t F = out_channels, C = in_channels, K = kernel_size;
  check_slot("weight", full_name(), weight, {F, C, K, K});
  check_slot("bias", full_name(), bias, {F});
  check_slot("mask", full_name(), mask, {F, C, K, K});
  for (const GateSlot& s : gates_) check_slot((s.kind + "_gate").c_str(), full_name(), s.tensor, s.pattern.shape(F, C, K));
  check_slot("constant_input_weight", full_name(), constant_input_weight, {F, 1, K, K});
}

Tensor Conv2d::effective_weight() const {
  Tensor w = weight;
  for (const GateSlot& s : gates_)
    if (s.tensor.defined()) w = ops::mul(w, s.tensor);
  if (mask.defined()) w = ops::mul(w, mask);
  return w;
}

// Checks and records exactly what ops::conv2d would, without the arithmetic.
static Tensor conv2d_shape_only(const Conv2d& conv, const Tensor& x) {
  PRUNUS_CHECK(x.ndim() == 4 && x.size(1) == conv.in_channels, "Conv2d '", conv.full_name(), "': input ",
               shape_str(x.shape()), " should be [N, ", conv.in_channels, ", H, W]");
  const int64_t OH = (x.size(2) + 2 * conv.padding - conv.kernel_size) / conv.stride + 1;
  const int64_t OW = (x.size(3) + 2 * conv.padding - conv.kernel_size) / conv.stride + 1;
  PRUNUS_CHECK(x.size(2) + 2 * conv.padding >= conv.kernel_size && x.size(3) + 2 * conv.padding >= conv.kernel_size,
               "Conv2d '", conv.full_name(), "': input ", shape_str(x.shape()), " is smaller than the ",
               conv.kernel_size, "x", conv.kernel_size, " kernel with padding ", conv.padding);
  Tensor y = Tensor::zeros({x.size(0), conv.out_channels, OH, OW}, x.dtype());
  std::vector<Tensor> inputs{x, conv.weight};
  if (conv.bias.defined()) inputs.push_back(conv.bias);
  record_op("conv2d", y, inputs, nullptr, {{"stride", double(conv.stride)}, {"padding", double(conv.padding)}});
  return y;
}

Tensor Conv2d::forward(const Tensor& x) {
  check_state();
  if (shape_only_active()) return conv2d_shape_only(*this, x);
  return add_constant_input_response(ops::conv2d(x, effective_weight(), bias, stride, padding), x,
                                     constant_input_weight, stride, padding);
}

void Conv2d::enable_mask() {
  if (!mask.defined()) mask = Tensor::ones(weight_shape(), weight.dtype());
}

void Conv2d::enable_gate(const std::string& kind) {
  Tensor& g = gate(kind);
  if (g.defined()) return;
  g = Tensor::ones(find_slot(kind)->pattern.shape(out_channels, in_channels, kernel_size), weight.dtype());
  g.requires_grad_(true);
}

void Conv2d::enable_constant_input() {
  if (!constant_input_weight.defined())
    constant_input_weight = Tensor::zeros({out_channels, 1, kernel_size, kernel_size}, weight.dtype());
}

void Conv2d::fold_pruning_state_into_weight() {
  check_state();
  if (!has_pruning_state()) return;
  {
    NoGradGuard no_grad;
    Tensor folded = effective_weight();
    weight.copy_(folded);
  }
  disable_mask();
  for (GateSlot& s : gates_) s.tensor = Tensor();
}

void Conv2d::describe_attributes(ModuleAttributes& a) const {
  check_state();
  a.set_int("in_channels", in_channels);
  a.set_int("out_channels", out_channels);
  a.set_int("kernel_size", kernel_size);
  a.set_int("stride", stride);
  a.set_int("padding", padding);
  a.set_bool("bias", bias.defined());
  a.set_bool("mask", mask.defined());
  for (const GateSlot& s : gates_) {
    const GateKindEntry* e = find_entry(s.kind);
    if (s.tensor.defined() || (e && e->described_when_absent)) a.set_bool(s.kind + "_gate", s.tensor.defined());
  }
  a.set_bool("constant_input", constant_input_weight.defined());
}

PRUNUS_REGISTER_MODULE_TYPE(Conv2d, [](const ModuleAttributes& a) {
  auto conv = std::make_shared<Conv2d>(a.get_int32("in_channels"), a.get_int32("out_channels"),
                                       a.get_int32("kernel_size"), a.get_int32("stride"), a.get_int32("padding"),
                                       a.get_bool("bias"));
  if (a.get_bool("mask")) conv->enable_mask();
  // Every "<kind>_gate" attribute that is set; the kind must be registered.
  for (const auto& [key, value] : a.items()) {
    const std::string suffix = "_gate";
    if (key.size() > suffix.size() && key.compare(key.size() - suffix.size(), suffix.size(), suffix) == 0 &&
        a.get_bool(key))
      conv->enable_gate(key.substr(0, key.size() - suffix.size()));
  }
  // Absent in descriptions written before it existed.
  if (a.has("constant_input") && a.get_bool("constant_input")) conv->enable_constant_input();
  return conv;
});

}  // namespace nn
}  // namespace prunus
