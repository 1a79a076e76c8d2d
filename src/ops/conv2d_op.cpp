// ops::conv2d: argument checks, dtype dispatch (float32 -> fast kernels,
// float64 -> reference kernels) and the autograd node.
#include <climits>
#include <type_traits>

#include "prunus/autograd.h"
#include "prunus/kernels/conv2d.h"
#include "prunus/ops.h"

namespace prunus {
namespace ops {
namespace {

template <typename T>
void conv_forward(const kernels::Conv2dShape& s, const T* x, const T* w, const T* bias, T* y) {
  if constexpr (std::is_same_v<T, float>)
    kernels::conv2d_forward(s, x, w, bias, y);
  else
    kernels::conv2d_forward_reference(s, x, w, bias, y);
}

template <typename T>
void conv_backward_data(const kernels::Conv2dShape& s, const T* dy, const T* w, T* dx) {
  if constexpr (std::is_same_v<T, float>)
    kernels::conv2d_backward_data(s, dy, w, dx);
  else
    kernels::conv2d_backward_data_reference(s, dy, w, dx);
}

template <typename T>
void conv_backward_weight(const kernels::Conv2dShape& s, const T* x, const T* dy, T* dw) {
  if constexpr (std::is_same_v<T, float>)
    kernels::conv2d_backward_weight(s, x, dy, dw);
  else
    kernels::conv2d_backward_weight_reference(s, x, dy, dw);
}

// db[f] = sum of dy[n, f, :, :] over n and the output plane.
template <typename T>
void bias_gradient(const kernels::Conv2dShape& s, const T* dy, T* db) {
  const int64_t plane = int64_t(s.out_height()) * s.out_width();
  for (int f = 0; f < s.out_channels; ++f) {
    double acc = 0;
    for (int n = 0; n < s.batch; ++n) {
      const T* p = dy + (int64_t(n) * s.out_channels + f) * plane;
      for (int64_t i = 0; i < plane; ++i) acc += p[i];
    }
    db[f] = static_cast<T>(acc);
  }
}

template <typename T>
std::vector<Tensor> conv_backward(const kernels::Conv2dShape& s, const Tensor& x, const Tensor& weight,
                                  const Tensor& bias, const Tensor& grad_output) {
  const T* dy = grad_output.data<T>();
  Tensor dx, dw, db;
  if (x.requires_grad()) {
    dx = Tensor::empty(x.shape(), x.dtype());
    conv_backward_data(s, dy, weight.data<T>(), dx.data<T>());
  }
  if (weight.requires_grad()) {
    dw = Tensor::empty(weight.shape(), weight.dtype());
    conv_backward_weight(s, x.data<T>(), dy, dw.data<T>());
  }
  std::vector<Tensor> grads{dx, dw};
  if (bias.defined()) {
    if (bias.requires_grad()) {
      db = Tensor::empty(bias.shape(), bias.dtype());
      bias_gradient(s, dy, db.data<T>());
    }
    grads.push_back(db);
  }
  return grads;
}

void check_arguments(const Tensor& x, const Tensor& weight, const Tensor& bias, int stride, int padding) {
  PRUNUS_CHECK(x.defined(), "conv2d: the input x is an undefined tensor");
  PRUNUS_CHECK(weight.defined(), "conv2d: the weight is an undefined tensor");
  PRUNUS_CHECK(x.ndim() == 4, "conv2d: input x must be 4-d [N,C,H,W], got ", shape_str(x.shape()));
  PRUNUS_CHECK(weight.ndim() == 4, "conv2d: weight must be 4-d [F,C,KH,KW], got ", shape_str(weight.shape()));
  check_dtype_device("conv2d (x, weight)", x, weight);
  PRUNUS_CHECK(x.device() == Device::CPU, "conv2d: ", device_name(x.device()),
               " tensors are not supported yet; move x and weight to the cpu");
  for (int d = 0; d < 4; ++d) {
    PRUNUS_CHECK(x.size(d) > 0 && x.size(d) <= INT_MAX, "conv2d: input x ", shape_str(x.shape()),
                 " needs every dimension in [1, ", INT_MAX, "]");
    PRUNUS_CHECK(weight.size(d) > 0 && weight.size(d) <= INT_MAX, "conv2d: weight ",
                 shape_str(weight.shape()), " needs every dimension in [1, ", INT_MAX, "]");
  }
  PRUNUS_CHECK(x.size(1) == weight.size(1), "conv2d: input x ", shape_str(x.shape()), " has ", x.size(1),
               " channels but weight ", shape_str(weight.shape()), " expects ", weight.size(1));
  if (bias.defined()) {
    PRUNUS_CHECK(bias.ndim() == 1 && bias.size(0) == weight.size(0), "conv2d: bias must be [",
                 weight.size(0), "] to match weight ", shape_str(weight.shape()), ", got ",
                 shape_str(bias.shape()));
    check_dtype_device("conv2d (x, bias)", x, bias);
  }
  PRUNUS_CHECK(stride >= 1, "conv2d: stride must be >= 1, got ", stride);
  PRUNUS_CHECK(padding >= 0, "conv2d: padding must be >= 0, got ", padding);
  const int64_t padded_h = x.size(2) + 2 * int64_t(padding), padded_w = x.size(3) + 2 * int64_t(padding);
  PRUNUS_CHECK(padded_h <= INT_MAX && padded_w <= INT_MAX, "conv2d: padding ", padding, " is too large");
  PRUNUS_CHECK(weight.size(2) <= padded_h && weight.size(3) <= padded_w, "conv2d: kernel ", weight.size(2),
               "x", weight.size(3), " is larger than the padded input ", padded_h, "x", padded_w, " (input ",
               shape_str(x.shape()), ", padding ", padding, ")");
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, int stride, int padding) {
  check_arguments(x, weight, bias, stride, padding);
  kernels::Conv2dShape s;
  s.batch = static_cast<int>(x.size(0));
  s.in_channels = static_cast<int>(x.size(1));
  s.in_height = static_cast<int>(x.size(2));
  s.in_width = static_cast<int>(x.size(3));
  s.out_channels = static_cast<int>(weight.size(0));
  s.kernel_h = static_cast<int>(weight.size(2));
  s.kernel_w = static_cast<int>(weight.size(3));
  s.stride = stride;
  s.padding = padding;

  Tensor y = Tensor::empty({s.batch, s.out_channels, s.out_height(), s.out_width()}, x.dtype());
  if (x.dtype() == DType::F32)
    conv_forward(s, x.f32(), weight.f32(), bias.defined() ? bias.f32() : nullptr, y.f32());
  else
    conv_forward(s, x.f64(), weight.f64(), bias.defined() ? bias.f64() : nullptr, y.f64());

  std::vector<Tensor> inputs{x, weight};
  if (bias.defined()) inputs.push_back(bias);
  const DType dtype = x.dtype();
  record_op(
      "conv2d", y, std::move(inputs),
      [s, x, weight, bias, dtype](const Tensor& grad_output) {
        const Tensor g = grad_output.dtype() == dtype ? grad_output : grad_output.to(dtype);
        return dtype == DType::F32 ? conv_backward<float>(s, x, weight, bias, g)
                                   : conv_backward<double>(s, x, weight, bias, g);
      },
      {{"stride", stride}, {"padding", padding}});
  return y;
}

}  // namespace ops
}  // namespace prunus
