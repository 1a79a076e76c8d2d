#include "prunus/prune/stripe_conv2d.h"

#include <cmath>

#include "prunus/nn/conv2d.h"
#include "prunus/nn/description.h"

namespace prunus {
namespace prune {

StripeConv2d::StripeConv2d(int in_channels_, int out_channels_, int kernel_size_, int stride_, int padding_,
                           int64_t stripes, bool with_bias, bool constant_input)
    : in_channels(in_channels_),
      out_channels(out_channels_),
      kernel_size(kernel_size_),
      stride(stride_),
      padding(padding_) {
  PRUNUS_CHECK(in_channels > 0 && out_channels > 0 && kernel_size > 0 && stride > 0 && padding >= 0,
               "StripeConv2d(in_channels=", in_channels, ", out_channels=", out_channels, ", kernel_size=",
               kernel_size, ", stride=", stride, ", padding=", padding,
               "): channels, kernel size and stride must be positive and padding non-negative");
  PRUNUS_CHECK(stripes >= 1 && stripes <= int64_t(out_channels) * kernel_size * kernel_size, "StripeConv2d: ",
               stripes, " stripes, expected 1 to ", int64_t(out_channels) * kernel_size * kernel_size,
               " (filters x kernel positions)");
  weight = Tensor::zeros({stripes, in_channels});
  if (with_bias) bias = Tensor::zeros({out_channels});
  stripe_filter = Tensor::zeros({stripes});
  stripe_position = Tensor::zeros({stripes});
  if (constant_input) constant_input_weight = Tensor::zeros({out_channels, 1, kernel_size, kernel_size});
  register_parameter("weight", &weight);
  register_parameter("bias", &bias);
  register_buffer("stripe_filter", &stripe_filter);
  register_buffer("stripe_position", &stripe_position);
  register_buffer("constant_input_weight", &constant_input_weight);
}

std::shared_ptr<StripeConv2d> StripeConv2d::from_dense(const Tensor& dense, const Tensor& bias, int stride,
                                                       int padding) {
  PRUNUS_CHECK(dense.defined() && dense.ndim() == 4 && dense.size(2) == dense.size(3) && dense.dtype() == DType::F32,
               "StripeConv2d::from_dense: weight must be float32 [F,C,K,K], got ",
               dense.defined() ? shape_str(dense.shape()) : std::string("(undefined)"));
  const int64_t F = dense.size(0), C = dense.size(1), K = dense.size(2), KK = K * K;
  const float* w = dense.f32();
  std::vector<std::pair<int64_t, int64_t>> kept;  // (position, filter), sorted by position
  for (int64_t p = 0; p < KK; ++p)
    for (int64_t f = 0; f < F; ++f) {
      bool any = false;
      for (int64_t c = 0; c < C && !any; ++c) any = w[(f * C + c) * KK + p] != 0.0f;
      if (any) kept.emplace_back(p, f);
    }
  if (kept.empty()) kept.emplace_back(0, 0);  // an all-zero stripe keeps the module valid
  auto m = std::make_shared<StripeConv2d>(int(C), int(F), int(K), stride, padding, int64_t(kept.size()),
                                          bias.defined());
  for (size_t s = 0; s < kept.size(); ++s) {
    const auto [p, f] = kept[s];
    m->stripe_position.f32()[s] = float(p);
    m->stripe_filter.f32()[s] = float(f);
    for (int64_t c = 0; c < C; ++c) m->weight.f32()[s * C + c] = w[(f * C + c) * KK + p];
  }
  if (bias.defined()) m->bias.copy_(bias);
  return m;
}

StripeLayout StripeConv2d::layout() const {
  const int64_t S = weight.defined() ? weight.size(0) : 0;
  PRUNUS_CHECK(weight.defined() && weight.shape() == Shape({S, int64_t(in_channels)}) &&
                   stripe_filter.shape() == Shape({S}) && stripe_position.shape() == Shape({S}) &&
                   (!bias.defined() || bias.shape() == Shape({int64_t(out_channels)})),
               "StripeConv2d '", full_name(), "': weight, bias and layout buffers do not match in_channels=",
               in_channels, ", out_channels=", out_channels);
  StripeLayout L;
  L.in_channels = in_channels;
  L.out_channels = out_channels;
  L.kernel = kernel_size;
  L.stride = stride;
  L.padding = padding;
  L.stripe_filter.resize(size_t(S));
  L.stripe_position.resize(size_t(S));
  const auto filters = stripe_filter.to_vector(), positions = stripe_position.to_vector();
  for (int64_t s = 0; s < S; ++s) {
    PRUNUS_CHECK(filters[s] == std::floor(filters[s]) && positions[s] == std::floor(positions[s]) &&
                     std::abs(filters[s]) < 1e7f && std::abs(positions[s]) < 1e7f,
                 "StripeConv2d '", full_name(), "': stripe ", s, " has a non-integer filter or position");
    L.stripe_filter[s] = int32_t(filters[s]);
    L.stripe_position[s] = int32_t(positions[s]);
  }
  const std::string who = "StripeConv2d '" + full_name() + "' (load the model state after building it)";
  L.check(who.c_str());
  return L;
}

Tensor StripeConv2d::forward(const Tensor& x) {
  return nn::add_constant_input_response(stripe_conv2d(x, weight, bias, layout()), x, constant_input_weight, stride,
                                         padding);
}

Tensor StripeConv2d::dense_weight() const {
  const StripeLayout L = layout();
  const int64_t C = in_channels, KK = int64_t(kernel_size) * kernel_size;
  Tensor dense = Tensor::zeros({out_channels, C, kernel_size, kernel_size}, weight.dtype());
  const auto w = weight.to_vector_f64();
  for (int64_t s = 0; s < L.stripes(); ++s)
    for (int64_t c = 0; c < C; ++c) {
      const int64_t at = (int64_t(L.stripe_filter[s]) * C + c) * KK + L.stripe_position[s];
      if (dense.dtype() == DType::F32)
        dense.f32()[at] = float(w[s * C + c]);
      else
        dense.f64()[at] = w[s * C + c];
    }
  return dense;
}

void StripeConv2d::describe_attributes(nn::ModuleAttributes& a) const {
  a.set_int("in_channels", in_channels);
  a.set_int("out_channels", out_channels);
  a.set_int("kernel_size", kernel_size);
  a.set_int("stride", stride);
  a.set_int("padding", padding);
  a.set_int("stripes", stripes());
  a.set_bool("bias", bias.defined());
  a.set_bool("constant_input", constant_input_weight.defined());
}

PRUNUS_REGISTER_MODULE_TYPE(StripeConv2d, [](const nn::ModuleAttributes& a) -> std::shared_ptr<nn::Module> {
  return std::make_shared<StripeConv2d>(a.get_int32("in_channels"), a.get_int32("out_channels"),
                                        a.get_int32("kernel_size"), a.get_int32("stride"), a.get_int32("padding"),
                                        a.get_int("stripes"), a.get_bool("bias"),
                                        a.has("constant_input") && a.get_bool("constant_input"));
});

}  // namespace prune
}  // namespace prunus
