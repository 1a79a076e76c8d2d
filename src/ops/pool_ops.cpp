// ops::maxpool2d, ops::avgpool2d, ops::global_avgpool: checks, dtype dispatch
// (float32 -> OpenMP kernels, float64 -> reference kernels), autograd nodes.
#include <climits>
#include <memory>
#include <vector>

#include "prunus/autograd.h"
#include "prunus/kernels/pool.h"
#include "prunus/ops.h"

namespace prunus {
namespace ops {
namespace {

void check_cpu_4d(const char* op, const Tensor& x) {
  PRUNUS_CHECK(x.defined(), op, ": the input x is an undefined tensor");
  PRUNUS_CHECK(x.ndim() == 4, op, ": input x must be 4-d [N,C,H,W], got ", shape_str(x.shape()));
  PRUNUS_CHECK(x.device() == Device::CPU, op, ": ", device_name(x.device()),
               " tensors are not supported yet; move x to the cpu");
  for (int d = 0; d < 4; ++d)
    PRUNUS_CHECK(x.size(d) > 0 && x.size(d) <= INT_MAX, op, ": input x ", shape_str(x.shape()),
                 " needs every dimension in [1, ", INT_MAX, "]");
}

kernels::Pool2dShape pool_shape(const char* op, const Tensor& x, int kernel, int stride, int padding) {
  check_cpu_4d(op, x);
  PRUNUS_CHECK(kernel >= 1, op, ": kernel must be >= 1, got ", kernel);
  PRUNUS_CHECK(stride >= 1, op, ": stride must be >= 1, got ", stride);
  // Beyond kernel/2 a window could hold only padding (PyTorch's rule too).
  PRUNUS_CHECK(padding >= 0 && padding <= kernel / 2, op, ": padding must be in [0, kernel/2] = [0, ",
               kernel / 2, "], got ", padding);
  const int64_t padded_h = x.size(2) + 2 * int64_t(padding), padded_w = x.size(3) + 2 * int64_t(padding);
  PRUNUS_CHECK(kernel <= padded_h && kernel <= padded_w, op, ": kernel ", kernel, "x", kernel,
               " is larger than the padded input ", padded_h, "x", padded_w, " (input ", shape_str(x.shape()),
               ", padding ", padding, ")");
  // Argmax indices are int32 offsets inside one plane.
  PRUNUS_CHECK(x.size(2) * x.size(3) <= INT32_MAX, op, ": input plane ", x.size(2), "x", x.size(3),
               " is too large");
  kernels::Pool2dShape s;
  s.batch = static_cast<int>(x.size(0));
  s.channels = static_cast<int>(x.size(1));
  s.in_height = static_cast<int>(x.size(2));
  s.in_width = static_cast<int>(x.size(3));
  s.kernel = kernel;
  s.stride = stride;
  s.padding = padding;
  return s;
}

Tensor as_dtype(const Tensor& t, DType dtype) { return t.dtype() == dtype ? t : t.to(dtype); }

std::map<std::string, double> pool_attributes(int kernel, int stride, int padding) {
  return {{"kernel", kernel}, {"stride", stride}, {"padding", padding}};
}

}  // namespace

Tensor maxpool2d(const Tensor& x, int kernel, int stride, int padding) {
  const kernels::Pool2dShape s = pool_shape("maxpool2d", x, kernel, stride, padding);
  Tensor y = Tensor::empty({s.batch, s.channels, s.out_height(), s.out_width()}, x.dtype());
  // Shared with the backward function; the output itself is not captured (no cycle).
  auto argmax = std::make_shared<std::vector<int32_t>>(static_cast<size_t>(y.numel()));
  if (x.dtype() == DType::F32)
    kernels::maxpool2d_forward(s, x.f32(), y.f32(), argmax->data());
  else
    kernels::maxpool2d_forward_reference(s, x.f64(), y.f64(), argmax->data());

  const DType dtype = x.dtype();
  const Shape in_shape = x.shape();
  record_op(
      "maxpool2d", y, {x},
      [s, argmax, dtype, in_shape](const Tensor& grad_output) {
        const Tensor g = as_dtype(grad_output, dtype);
        Tensor dx = Tensor::empty(in_shape, dtype);
        if (dtype == DType::F32)
          kernels::maxpool2d_backward(s, g.f32(), argmax->data(), dx.f32());
        else
          kernels::maxpool2d_backward_reference(s, g.f64(), argmax->data(), dx.f64());
        return std::vector<Tensor>{dx};
      },
      pool_attributes(kernel, stride, padding));
  return y;
}

Tensor avgpool2d(const Tensor& x, int kernel, int stride, int padding) {
  const kernels::Pool2dShape s = pool_shape("avgpool2d", x, kernel, stride, padding);
  Tensor y = Tensor::empty({s.batch, s.channels, s.out_height(), s.out_width()}, x.dtype());
  if (x.dtype() == DType::F32)
    kernels::avgpool2d_forward(s, x.f32(), y.f32());
  else
    kernels::avgpool2d_forward_reference(s, x.f64(), y.f64());

  const DType dtype = x.dtype();
  const Shape in_shape = x.shape();
  record_op(
      "avgpool2d", y, {x},
      [s, dtype, in_shape](const Tensor& grad_output) {
        const Tensor g = as_dtype(grad_output, dtype);
        Tensor dx = Tensor::empty(in_shape, dtype);
        if (dtype == DType::F32)
          kernels::avgpool2d_backward(s, g.f32(), dx.f32());
        else
          kernels::avgpool2d_backward_reference(s, g.f64(), dx.f64());
        return std::vector<Tensor>{dx};
      },
      pool_attributes(kernel, stride, padding));
  return y;
}

Tensor global_avgpool(const Tensor& x) {
  check_cpu_4d("global_avgpool", x);
  const int64_t planes = x.size(0) * x.size(1), plane_size = x.size(2) * x.size(3);
  Tensor y = Tensor::empty({x.size(0), x.size(1)}, x.dtype());
  if (x.dtype() == DType::F32)
    kernels::global_avgpool_forward(planes, plane_size, x.f32(), y.f32());
  else
    kernels::global_avgpool_forward_reference(planes, plane_size, x.f64(), y.f64());

  const DType dtype = x.dtype();
  const Shape in_shape = x.shape();
  record_op("global_avgpool", y, {x}, [planes, plane_size, dtype, in_shape](const Tensor& grad_output) {
    const Tensor g = as_dtype(grad_output, dtype);
    Tensor dx = Tensor::empty(in_shape, dtype);
    if (dtype == DType::F32)
      kernels::global_avgpool_backward(planes, plane_size, g.f32(), dx.f32());
    else
      kernels::global_avgpool_backward_reference(planes, plane_size, g.f64(), dx.f64());
    return std::vector<Tensor>{dx};
  });
  return y;
}

}  // namespace ops
}  // namespace prunus
