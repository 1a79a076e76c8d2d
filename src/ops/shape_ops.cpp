// Ops that only move values around: flatten and reshape (recorded views on the
// same storage), concat along channels, and the ResNet option A shortcut
// subsample_pad_channels.
#include <cstring>

#include "prunus/autograd.h"
#include "prunus/ops.h"

namespace prunus {
namespace ops {
namespace {

Tensor recorded_view(const char* op, const Tensor& x, const Shape& shape) {
  Tensor y = x.view(shape);
  const Shape in_shape = x.shape();
  record_op(op, y, {x}, [in_shape](const Tensor& grad_output) {
    // A view of the incoming gradient: the engine owns it and drops it after this call.
    return std::vector<Tensor>{grad_output.view(in_shape)};
  });
  return y;
}

// Rows of a channel-concatenation: dim 0 is the outer loop, dims >= 2 move
// together with each channel.
int64_t inner_size(const Shape& shape) {
  int64_t n = 1;
  for (size_t d = 2; d < shape.size(); ++d) n *= shape[d];
  return n;
}

// Copies, for each n, `channels * inner` contiguous values from src (channel
// stride src_channels) to dst (channel stride dst_channels), shifted by the
// given channel offsets. Used both ways by concat.
void copy_channel_block(const Tensor& src, int64_t src_channels, int64_t src_offset, const Tensor& dst,
                        int64_t dst_channels, int64_t dst_offset, int64_t batch, int64_t channels,
                        int64_t inner) {
  const size_t element = dtype_size(src.dtype());
  const char* s = static_cast<const char*>(src.raw_data());
  char* d = static_cast<char*>(dst.raw_data());
  const size_t bytes = channels * inner * element;
  if (bytes == 0) return;
  for (int64_t n = 0; n < batch; ++n)
    std::memcpy(d + ((n * dst_channels + dst_offset) * inner) * element,
                s + ((n * src_channels + src_offset) * inner) * element, bytes);
}

struct SubsampleShape {
  int64_t batch, channels, height, width, stride, pad_before, out_channels, out_height, out_width;
};

// forward: y[n, pad_before + c, oh, ow] = x[n, c, oh*s, ow*s], the rest of y stays 0.
// backward (to_input): dx[n, c, oh*s, ow*s] = dy[n, pad_before + c, oh, ow], the rest 0.
template <typename T>
void subsample_copy(const SubsampleShape& s, const T* from, T* to, bool to_input) {
  for (int64_t n = 0; n < s.batch; ++n)
    for (int64_t c = 0; c < s.channels; ++c) {
      const int64_t in_plane = (n * s.channels + c) * s.height * s.width;
      const int64_t out_plane = (n * s.out_channels + s.pad_before + c) * s.out_height * s.out_width;
      for (int64_t oh = 0; oh < s.out_height; ++oh)
        for (int64_t ow = 0; ow < s.out_width; ++ow) {
          const int64_t i = in_plane + oh * s.stride * s.width + ow * s.stride;
          const int64_t o = out_plane + oh * s.out_width + ow;
          if (to_input)
            to[i] = from[o];
          else
            to[o] = from[i];
        }
    }
}

}  // namespace

Tensor flatten(const Tensor& x) {
  PRUNUS_CHECK(x.defined(), "flatten: the input x is an undefined tensor");
  PRUNUS_CHECK(x.ndim() >= 2, "flatten: input x must have at least 2 dims [N, ...], got ",
               shape_str(x.shape()));
  int64_t rest = 1;
  for (int d = 1; d < x.ndim(); ++d) rest *= x.size(d);
  return recorded_view("flatten", x, {x.size(0), rest});
}

Tensor reshape(const Tensor& x, const Shape& shape) {
  PRUNUS_CHECK(x.defined(), "reshape: the input x is an undefined tensor");
  return recorded_view("reshape", x, shape);
}

Tensor concat(const std::vector<Tensor>& parts) {
  PRUNUS_CHECK(!parts.empty(), "concat: needs at least one tensor, got none");
  for (size_t i = 0; i < parts.size(); ++i)
    PRUNUS_CHECK(parts[i].defined(), "concat: part ", i, " is an undefined tensor");
  const Tensor& first = parts[0];
  PRUNUS_CHECK(first.ndim() >= 2, "concat: parts must have at least 2 dims [N,C,...], part 0 is ",
               shape_str(first.shape()));
  PRUNUS_CHECK(first.device() == Device::CPU, "concat: ", device_name(first.device()),
               " tensors are not supported yet; move the parts to the cpu");
  Shape out_shape = first.shape();
  out_shape[1] = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    const Tensor& p = parts[i];
    check_dtype_device("concat", first, p);
    bool same_other_dims = p.ndim() == first.ndim();
    for (int d = 0; same_other_dims && d < first.ndim(); ++d)
      if (d != 1 && p.size(d) != first.size(d)) same_other_dims = false;
    PRUNUS_CHECK(same_other_dims, "concat: part ", i, " ", shape_str(p.shape()), " differs from part 0 ",
                 shape_str(first.shape()), " outside dim 1 (only channels may differ)");
    out_shape[1] += p.size(1);
  }
  Tensor y = Tensor::empty(out_shape, first.dtype());
  const int64_t batch = out_shape[0], inner = inner_size(out_shape), total = out_shape[1];
  std::vector<int64_t> offsets;
  int64_t offset = 0;
  for (const Tensor& p : parts) {
    offsets.push_back(offset);
    copy_channel_block(p, p.size(1), 0, y, total, offset, batch, p.size(1), inner);
    offset += p.size(1);
  }

  const DType dtype = first.dtype();
  record_op("concat", y, parts, [parts, offsets, batch, inner, total, dtype](const Tensor& grad_output) {
    const Tensor g = grad_output.dtype() == dtype ? grad_output : grad_output.to(dtype);
    std::vector<Tensor> grads(parts.size());
    for (size_t i = 0; i < parts.size(); ++i) {
      if (!parts[i].requires_grad()) continue;
      grads[i] = Tensor::empty(parts[i].shape(), dtype);
      const int64_t channels = parts[i].size(1);
      copy_channel_block(g, total, offsets[i], grads[i], channels, 0, batch, channels, inner);
    }
    return grads;
  });
  return y;
}

Tensor subsample_pad_channels(const Tensor& x, int stride, int pad_before, int pad_after) {
  PRUNUS_CHECK(x.defined(), "subsample_pad_channels: the input x is an undefined tensor");
  PRUNUS_CHECK(x.ndim() == 4, "subsample_pad_channels: input x must be 4-d [N,C,H,W], got ",
               shape_str(x.shape()));
  PRUNUS_CHECK(x.device() == Device::CPU, "subsample_pad_channels: ", device_name(x.device()),
               " tensors are not supported yet; move x to the cpu");
  PRUNUS_CHECK(stride >= 1, "subsample_pad_channels: stride must be >= 1, got ", stride);
  PRUNUS_CHECK(pad_before >= 0 && pad_after >= 0,
               "subsample_pad_channels: channel padding must be >= 0, got pad_before ", pad_before,
               " and pad_after ", pad_after);
  SubsampleShape s;
  s.batch = x.size(0);
  s.channels = x.size(1);
  s.height = x.size(2);
  s.width = x.size(3);
  s.stride = stride;
  s.pad_before = pad_before;
  s.out_channels = pad_before + s.channels + pad_after;
  s.out_height = (s.height + stride - 1) / stride;
  s.out_width = (s.width + stride - 1) / stride;
  Tensor y = Tensor::zeros({s.batch, s.out_channels, s.out_height, s.out_width}, x.dtype());
  if (x.dtype() == DType::F32)
    subsample_copy(s, x.f32(), y.f32(), false);
  else
    subsample_copy(s, x.f64(), y.f64(), false);

  const DType dtype = x.dtype();
  const Shape in_shape = x.shape();
  record_op(
      "subsample_pad_channels", y, {x},
      [s, dtype, in_shape](const Tensor& grad_output) {
        const Tensor g = grad_output.dtype() == dtype ? grad_output : grad_output.to(dtype);
        Tensor dx = Tensor::zeros(in_shape, dtype);
        if (dtype == DType::F32)
          subsample_copy(s, g.f32(), dx.f32(), true);
        else
          subsample_copy(s, g.f64(), dx.f64(), true);
        return std::vector<Tensor>{dx};
      },
      {{"stride", stride}, {"pad_before", pad_before}, {"pad_after", pad_after}});
  return y;
}

}  // namespace ops
}  // namespace prunus
