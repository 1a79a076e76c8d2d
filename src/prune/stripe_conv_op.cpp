#include "prunus/prune/stripe_conv_op.h"

#include <type_traits>

#include "prunus/autograd.h"
#include "prunus/kernels/gemm.h"
#include "prunus/kernels/stripe_conv.h"

namespace prunus {
namespace prune {
namespace {

struct Geometry {
  int64_t N, C, H, W, F, K, stride, padding, OH, OW;
  int64_t P() const { return OH * OW; }
};

template <typename T>
void matmul(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const T* A, int64_t lda, const T* B, int64_t ldb, T* C,
            int64_t ldc) {
  if constexpr (std::is_same_v<T, float>)
    kernels::sgemm(ta, tb, int(M), int(N), int(K), 1.0f, A, int(lda), B, int(ldb), 0.0f, C, int(ldc));
  else
    kernels::gemm_reference<T>(ta, tb, int(M), int(N), int(K), T(1), A, int(lda), B, int(ldb), T(0), C, int(ldc));
}

// out[c, n*P + q] = x[n, c] shifted to kernel position (i, j), zero outside.
template <typename T>
void gather_shifted(const Geometry& g, const T* x, int64_t i, int64_t j, T* out) {
  const int64_t NP = g.N * g.P();
#pragma omp parallel for if (g.C * NP > 32768)
  for (int64_t c = 0; c < g.C; ++c)
    for (int64_t n = 0; n < g.N; ++n) {
      const T* plane = x + (n * g.C + c) * g.H * g.W;
      T* row = out + c * NP + n * g.P();
      for (int64_t oh = 0; oh < g.OH; ++oh) {
        const int64_t ih = oh * g.stride - g.padding + i;
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          const int64_t iw = ow * g.stride - g.padding + j;
          row[oh * g.OW + ow] = (ih >= 0 && ih < g.H && iw >= 0 && iw < g.W) ? plane[ih * g.W + iw] : T(0);
        }
      }
    }
}

// The adjoint of gather_shifted: dx[n, c] += shifted back in[c, n*P + q].
template <typename T>
void scatter_shifted_add(const Geometry& g, const T* in, int64_t i, int64_t j, T* dx) {
  const int64_t NP = g.N * g.P();
#pragma omp parallel for if (g.C * NP > 32768)
  for (int64_t c = 0; c < g.C; ++c)
    for (int64_t n = 0; n < g.N; ++n) {
      T* plane = dx + (n * g.C + c) * g.H * g.W;
      const T* row = in + c * NP + n * g.P();
      for (int64_t oh = 0; oh < g.OH; ++oh) {
        const int64_t ih = oh * g.stride - g.padding + i;
        if (ih < 0 || ih >= g.H) continue;
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          const int64_t iw = ow * g.stride - g.padding + j;
          if (iw >= 0 && iw < g.W) plane[ih * g.W + iw] += row[oh * g.OW + ow];
        }
      }
    }
}

// The float64 path (the reference the float32 kernels are checked against in
// the tests; finite-difference gradient checks run through it).

// Stripes [begin, end) at each kernel position.
std::vector<std::pair<int64_t, int64_t>> position_ranges(const StripeLayout& L) {
  std::vector<std::pair<int64_t, int64_t>> ranges(size_t(L.kernel) * L.kernel, {0, 0});
  int64_t s = 0;
  for (size_t p = 0; p < ranges.size(); ++p) {
    const int64_t begin = s;
    while (s < L.stripes() && L.stripe_position[s] == int32_t(p)) ++s;
    ranges[p] = {begin, s};
  }
  return ranges;
}

template <typename T>
void forward(const Geometry& g, const StripeLayout& L, const T* x, const T* w, const T* bias, T* y) {
  const int64_t NP = g.N * g.P();
  std::vector<T> shifted(size_t(g.C * NP)), product;
  const auto ranges = position_ranges(L);
  for (size_t p = 0; p < ranges.size(); ++p) {
    const auto [begin, end] = ranges[p];
    if (begin == end) continue;
    gather_shifted(g, x, int64_t(p) / g.K, int64_t(p) % g.K, shifted.data());
    product.resize(size_t((end - begin) * NP));
    matmul<T>(false, false, end - begin, NP, g.C, w + begin * g.C, g.C, shifted.data(), NP, product.data(), NP);
    for (int64_t s = begin; s < end; ++s)  // (filter, position) pairs are unique: rows never collide
      for (int64_t n = 0; n < g.N; ++n) {
        T* out = y + (n * g.F + L.stripe_filter[s]) * g.P();
        const T* in = product.data() + (s - begin) * NP + n * g.P();
        for (int64_t q = 0; q < g.P(); ++q) out[q] += in[q];
      }
  }
  if (bias)
    for (int64_t n = 0; n < g.N; ++n)
      for (int64_t f = 0; f < g.F; ++f)
        for (int64_t q = 0; q < g.P(); ++q) y[(n * g.F + f) * g.P() + q] += bias[f];
}

template <typename T>
std::vector<Tensor> backward(const Geometry& g, const StripeLayout& L, const Tensor& x, const Tensor& weight,
                             const Tensor& bias, const Tensor& grad) {
  const int64_t NP = g.N * g.P();
  const T* dy = grad.data<T>();
  const T* w = weight.data<T>();
  Tensor dx = Tensor::zeros(x.shape(), x.dtype());
  Tensor dw = Tensor::zeros(weight.shape(), weight.dtype());
  std::vector<T> shifted(size_t(g.C * NP)), dshifted(size_t(g.C * NP)), dproduct;
  const auto ranges = position_ranges(L);
  for (size_t p = 0; p < ranges.size(); ++p) {
    const auto [begin, end] = ranges[p];
    if (begin == end) continue;
    const int64_t i = int64_t(p) / g.K, j = int64_t(p) % g.K;
    dproduct.resize(size_t((end - begin) * NP));
    for (int64_t s = begin; s < end; ++s)
      for (int64_t n = 0; n < g.N; ++n) {
        const T* from = dy + (n * g.F + L.stripe_filter[s]) * g.P();
        std::copy(from, from + g.P(), dproduct.data() + (s - begin) * NP + n * g.P());
      }
    if (weight.requires_grad()) {
      gather_shifted(g, x.data<T>(), i, j, shifted.data());
      matmul<T>(false, true, end - begin, g.C, NP, dproduct.data(), NP, shifted.data(), NP, dw.data<T>() + begin * g.C,
                g.C);
    }
    if (x.requires_grad()) {
      matmul<T>(true, false, g.C, NP, end - begin, w + begin * g.C, g.C, dproduct.data(), NP, dshifted.data(), NP);
      scatter_shifted_add(g, dshifted.data(), i, j, dx.data<T>());
    }
  }
  std::vector<Tensor> grads{x.requires_grad() ? dx : Tensor(), weight.requires_grad() ? dw : Tensor()};
  if (bias.defined()) {
    Tensor db = Tensor::zeros(bias.shape(), bias.dtype());
    T* b = db.data<T>();
    for (int64_t n = 0; n < g.N; ++n)
      for (int64_t f = 0; f < g.F; ++f)
        for (int64_t q = 0; q < g.P(); ++q) b[f] += dy[(n * g.F + f) * g.P() + q];
    grads.push_back(db);
  }
  return grads;
}

// The same layout in the form of the stripe kernels of kernels/stripe_conv.h
// (blocks by position, filters ascending: the order of our stripes).
kernels::StripeConvLayout kernel_layout(const StripeLayout& L) {
  kernels::StripeConvLayout k;
  k.in_channels = L.in_channels;
  k.out_channels = L.out_channels;
  k.kernel = L.kernel;
  k.stride = L.stride;
  k.padding = L.padding;
  for (int64_t s = 0; s < L.stripes(); ++s) {
    const int p = L.stripe_position[s];
    if (k.positions.empty() || k.positions.back().i * L.kernel + k.positions.back().j != p) {
      kernels::StripePosition position;
      position.i = p / L.kernel;
      position.j = p % L.kernel;
      k.positions.push_back(position);
    }
    k.positions.back().filters.push_back(L.stripe_filter[s]);
  }
  return k;
}

std::vector<Tensor> backward_fast(const Geometry& g, const StripeLayout& L, const Tensor& x, const Tensor& weight,
                                  const Tensor& bias, const Tensor& grad) {
  const kernels::StripeConvLayout k = kernel_layout(L);
  std::vector<Tensor> grads(2);
  if (x.requires_grad()) {
    grads[0] = Tensor::empty(x.shape(), x.dtype());
    kernels::stripe_conv2d_backward_data(k, int(g.N), int(g.H), int(g.W), grad.f32(), weight.f32(), grads[0].f32());
  }
  if (weight.requires_grad()) {
    grads[1] = Tensor::empty(weight.shape(), weight.dtype());
    kernels::stripe_conv2d_backward_weight(k, int(g.N), int(g.H), int(g.W), x.f32(), grad.f32(), grads[1].f32());
  }
  if (bias.defined()) {
    Tensor db = Tensor::zeros(bias.shape(), bias.dtype());
    for (int64_t f = 0; f < g.F; ++f) {
      double sum = 0;
      for (int64_t n = 0; n < g.N; ++n)
        for (int64_t q = 0; q < g.P(); ++q) sum += grad.f32()[(n * g.F + f) * g.P() + q];
      db.f32()[f] = float(sum);
    }
    grads.push_back(db);
  }
  return grads;
}

}  // namespace

void StripeLayout::check(const char* who) const {
  PRUNUS_CHECK(in_channels > 0 && out_channels > 0 && kernel > 0 && stride > 0 && padding >= 0, who,
               ": channels, kernel and stride must be positive and padding non-negative");
  PRUNUS_CHECK(stripe_filter.size() == stripe_position.size(), who, ": ", stripe_filter.size(),
               " stripe filters but ", stripe_position.size(), " stripe positions");
  std::vector<uint8_t> seen(size_t(out_channels) * kernel * kernel, 0);
  for (size_t s = 0; s < stripe_filter.size(); ++s) {
    const int32_t f = stripe_filter[s], p = stripe_position[s];
    PRUNUS_CHECK(f >= 0 && f < out_channels && p >= 0 && p < kernel * kernel, who, ": stripe ", s, " (filter ", f,
                 ", position ", p, ") is outside ", out_channels, " filters x ", kernel * kernel, " positions");
    PRUNUS_CHECK(s == 0 || stripe_position[s - 1] < p || (stripe_position[s - 1] == p && stripe_filter[s - 1] < f),
                 who, ": stripes must be sorted by position, then by filter; stripe ", s, " (filter ", f,
                 ", position ", p, ") comes after filter ", stripe_filter[s - 1], " at position ",
                 stripe_position[s - 1]);
    uint8_t& mark = seen[size_t(f) * kernel * kernel + p];
    PRUNUS_CHECK(!mark, who, ": filter ", f, " has position ", p, " twice");
    mark = 1;
  }
}

Tensor stripe_conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const StripeLayout& layout) {
  layout.check("stripe_conv2d");
  PRUNUS_CHECK(x.defined() && x.ndim() == 4 && x.size(1) == layout.in_channels, "stripe_conv2d: input ",
               x.defined() ? shape_str(x.shape()) : std::string("(undefined)"), " should be [N, ",
               layout.in_channels, ", H, W]");
  PRUNUS_CHECK(weight.defined() && weight.shape() == Shape({layout.stripes(), int64_t(layout.in_channels)}),
               "stripe_conv2d: weight ", weight.defined() ? shape_str(weight.shape()) : std::string("(undefined)"),
               " should be [", layout.stripes(), ", ", layout.in_channels, "] (stripes x input channels)");
  PRUNUS_CHECK(!bias.defined() || bias.shape() == Shape({int64_t(layout.out_channels)}), "stripe_conv2d: bias ",
               bias.defined() ? shape_str(bias.shape()) : "", " should be [", layout.out_channels, "]");
  PRUNUS_CHECK(x.dtype() == weight.dtype() && (!bias.defined() || bias.dtype() == x.dtype()) &&
                   x.device() == Device::CPU && weight.device() == Device::CPU,
               "stripe_conv2d: x, weight and bias must share one dtype and live on the CPU");
  Geometry g{x.size(0), x.size(1), x.size(2), x.size(3), layout.out_channels, layout.kernel,
             layout.stride, layout.padding, 0, 0};
  PRUNUS_CHECK(g.H + 2 * g.padding >= g.K && g.W + 2 * g.padding >= g.K, "stripe_conv2d: input ",
               shape_str(x.shape()), " is smaller than the ", g.K, "x", g.K, " kernel with padding ", g.padding);
  g.OH = (g.H + 2 * g.padding - g.K) / g.stride + 1;
  g.OW = (g.W + 2 * g.padding - g.K) / g.stride + 1;
  // The float32 kernel writes every element; the float64 reference accumulates.
  Tensor y = x.dtype() == DType::F32 ? Tensor::empty({g.N, g.F, g.OH, g.OW}, x.dtype())
                                     : Tensor::zeros({g.N, g.F, g.OH, g.OW}, x.dtype());
  if (x.dtype() == DType::F32)
    kernels::stripe_conv2d_forward(kernel_layout(layout), int(g.N), int(g.H), int(g.W), x.f32(), weight.f32(),
                                   bias.defined() ? bias.f32() : nullptr, y.f32());
  else
    forward<double>(g, layout, x.f64(), weight.f64(), bias.defined() ? bias.f64() : nullptr, y.f64());
  std::vector<Tensor> inputs{x, weight};
  if (bias.defined()) inputs.push_back(bias);
  const DType dtype = x.dtype();
  record_op(
      "stripe_conv2d", y, std::move(inputs),
      [g, layout, x, weight, bias, dtype](const Tensor& grad_output) {
        const Tensor grad = grad_output.dtype() == dtype ? grad_output : grad_output.to(dtype);
        return dtype == DType::F32 ? backward_fast(g, layout, x, weight, bias, grad)
                                   : backward<double>(g, layout, x, weight, bias, grad);
      },
      {{"stride", double(g.stride)},
       {"padding", double(g.padding)},
       {"kernel", double(g.K)},
       {"macs", double(layout.stripes() * g.C * g.OH * g.OW)}});
  return y;
}

}  // namespace prune
}  // namespace prunus
