// The three convolution passes as implicit GEMMs for implicit_gemm.cuh.
// In each, N is a channel count (filters or input channels) and M the large
// dimension, so one set of tile shapes, chosen by N, serves all three:
//   forward          C[m = output pixel (n,oh,ow)][f]     = sum over k = (c,i,j) of x-patch * w
//   backward data    C[m = input pixel (n,ih,iw)][c]      = sum over k = (f,i,j) of dy-tap * w
//   backward weight  C[m = weight tap (c,i,j)][f]         = sum over k = output pixel of x-patch * dy
// A loader returns 0 outside its tensor (padding, the ragged edges of tiles),
// so the GEMM needs no bounds logic of its own. Host and device code.
#pragma once
#include "fast_divmod.cuh"
#include "host_device.cuh"
#include "prunus/kernels/conv2d.h"

namespace prunus {
namespace cuda {

// The sizes every problem needs, as ints (the launcher checks they fit).
struct ConvSizes {
  int batch, channels, height, width, filters, kernel_h, kernel_w, stride, padding, out_h, out_w;
  int in_pixels() const { return height * width; }
  int out_pixels() const { return out_h * out_w; }
  int taps() const { return kernel_h * kernel_w; }
};

inline ConvSizes conv_sizes(const kernels::Conv2dShape& s) {
  return {s.batch,    s.in_channels, s.in_height, s.in_width, s.out_channels, s.kernel_h,
          s.kernel_w, s.stride,      s.padding,   s.out_height(), s.out_width()};
}

// ------------------------------------------------------------------ forward
struct ConvForwardProblem {
  // A(m = output pixel, k = (c, i, j)): the input patch, zero in the padding.
  struct ALoader {
    static constexpr bool kKMajor = false;  // consecutive threads: consecutive output pixels (ow runs along x)
    struct Fixed {
      int base, h0, w0;
      bool valid;
    };
    const float* x;
    int M, K, height, width, in_pixels, image_size, stride, padding;
    FastDivmod out_pixels, out_w, taps, kernel_w;

    PRUNUS_HD Fixed fixed(int m) const {
      Fixed f{0, 0, 0, m < M};
      if (!f.valid) return f;
      int n, pixel, oh, ow;
      out_pixels.divmod(m, n, pixel);
      out_w.divmod(pixel, oh, ow);
      f.base = n * image_size;
      f.h0 = oh * stride - padding;
      f.w0 = ow * stride - padding;
      return f;
    }
    PRUNUS_HD float load(const Fixed& f, int k) const {
      if (!f.valid || k >= K) return 0.0f;
      int c, tap, i, j;
      taps.divmod(k, c, tap);
      kernel_w.divmod(tap, i, j);
      const int h = f.h0 + i, w = f.w0 + j;
      if (h < 0 || h >= height || w < 0 || w >= width) return 0.0f;
      return x[f.base + c * in_pixels + h * width + w];
    }
  };
  // B(k, n = filter f) = w[f, k]: a weight row, contiguous in k.
  struct BLoader {
    static constexpr bool kKMajor = true;
    struct Fixed {
      int row;
      bool valid;
    };
    const float* w;
    int N, K;
    PRUNUS_HD Fixed fixed(int n) const { return {n * K, n < N}; }
    PRUNUS_HD float load(const Fixed& f, int k) const { return f.valid && k < K ? w[f.row + k] : 0.0f; }
  };

  int M, N, K;
  ALoader a;
  BLoader b;
  float* y;
  const float* bias;  // may be null
  int out_pixels_count;
  FastDivmod out_pixels;

  PRUNUS_HD void store(int m, int n, float value) const {
    int image, pixel;
    out_pixels.divmod(m, image, pixel);
    y[(image * N + n) * out_pixels_count + pixel] = value + (bias != nullptr ? bias[n] : 0.0f);
  }
};

inline ConvForwardProblem make_forward_problem(const kernels::Conv2dShape& shape, const float* x, const float* w,
                                               const float* bias, float* y) {
  const ConvSizes s = conv_sizes(shape);
  ConvForwardProblem p;
  p.M = s.batch * s.out_pixels();
  p.N = s.filters;
  p.K = s.channels * s.taps();
  p.a = {x,        p.M,       p.K,       s.height,
         s.width,  s.in_pixels(), s.channels * s.in_pixels(), s.stride,
         s.padding, FastDivmod(s.out_pixels()), FastDivmod(s.out_w), FastDivmod(s.taps()),
         FastDivmod(s.kernel_w)};
  p.b = {w, p.N, p.K};
  p.y = y;
  p.bias = bias;
  p.out_pixels_count = s.out_pixels();
  p.out_pixels = FastDivmod(s.out_pixels());
  return p;
}

// ------------------------------------------------------------ backward data
struct ConvBackwardDataProblem {
  // A(m = input pixel, k = (f, i, j)) = dy[n, f, oh, ow] where oh * stride = ih + padding - i
  // (and likewise ow), zero when that is not a whole output position.
  struct ALoader {
    static constexpr bool kKMajor = false;  // consecutive threads: consecutive input pixels
    struct Fixed {
      int base, h, w;  // h = ih + padding, w = iw + padding
      bool valid;
    };
    const float* dy;
    int M, K, out_h, out_w, out_pixels, padding, output_size;  // output_size = F * OH * OW (one image of dy)
    FastDivmod in_pixels, in_w, taps, kernel_w, stride;

    PRUNUS_HD Fixed fixed(int m) const {
      Fixed f{0, 0, 0, m < M};
      if (!f.valid) return f;
      int n, pixel, ih, iw;
      in_pixels.divmod(m, n, pixel);
      in_w.divmod(pixel, ih, iw);
      f.base = n * output_size;
      f.h = ih + padding;
      f.w = iw + padding;
      return f;
    }
    PRUNUS_HD float load(const Fixed& f, int k) const {
      if (!f.valid || k >= K) return 0.0f;
      int filter, tap, i, j;
      taps.divmod(k, filter, tap);
      kernel_w.divmod(tap, i, j);
      const int th = f.h - i, tw = f.w - j;
      if (th < 0 || tw < 0) return 0.0f;
      int oh, rh, ow, rw;
      stride.divmod(th, oh, rh);
      stride.divmod(tw, ow, rw);
      if (rh != 0 || rw != 0 || oh >= out_h || ow >= out_w) return 0.0f;
      return dy[f.base + filter * out_pixels + oh * out_w + ow];
    }
  };
  // B(k = (f, i, j), n = channel c) = w[f, c, i, j].
  struct BLoader {
    static constexpr bool kKMajor = true;  // consecutive k: consecutive taps of one filter and channel
    struct Fixed {
      int offset;  // c * KH * KW
      bool valid;
    };
    const float* w;
    int N, K, filter_size;  // filter_size = C * KH * KW
    FastDivmod taps;
    PRUNUS_HD Fixed fixed(int n) const { return {n * taps.divisor, n < N}; }
    PRUNUS_HD float load(const Fixed& f, int k) const {
      if (!f.valid || k >= K) return 0.0f;
      int filter, tap;
      taps.divmod(k, filter, tap);
      return w[filter * filter_size + f.offset + tap];
    }
  };

  int M, N, K;
  ALoader a;
  BLoader b;
  float* dx;
  int in_pixels_count;
  FastDivmod in_pixels;

  PRUNUS_HD void store(int m, int n, float value) const {
    int image, pixel;
    in_pixels.divmod(m, image, pixel);
    dx[(image * N + n) * in_pixels_count + pixel] = value;
  }
};

inline ConvBackwardDataProblem make_backward_data_problem(const kernels::Conv2dShape& shape, const float* dy,
                                                          const float* w, float* dx) {
  const ConvSizes s = conv_sizes(shape);
  ConvBackwardDataProblem p;
  p.M = s.batch * s.in_pixels();
  p.N = s.channels;
  p.K = s.filters * s.taps();
  p.a = {dy,
         p.M,
         p.K,
         s.out_h,
         s.out_w,
         s.out_pixels(),
         s.padding,
         s.filters * s.out_pixels(),
         FastDivmod(s.in_pixels()),
         FastDivmod(s.width),
         FastDivmod(s.taps()),
         FastDivmod(s.kernel_w),
         FastDivmod(s.stride)};
  p.b = {w, p.N, p.K, s.channels * s.taps(), FastDivmod(s.taps())};
  p.dx = dx;
  p.in_pixels_count = s.in_pixels();
  p.in_pixels = FastDivmod(s.in_pixels());
  return p;
}

// ---------------------------------------------------------- backward weight
struct ConvBackwardWeightProblem {
  // A(m = tap (c, i, j), k = output pixel (n, oh, ow)) = x[n, c, oh*stride - padding + i, ...].
  struct ALoader {
    static constexpr bool kKMajor = true;  // consecutive k: consecutive output pixels (coalesced for stride 1)
    struct Fixed {
      int offset, di, dj;  // c * H * W, i - padding, j - padding
      bool valid;
    };
    const float* x;
    int M, K, height, width, image_size, stride;
    int padding;
    FastDivmod taps, kernel_w, out_pixels, out_w;

    PRUNUS_HD Fixed fixed(int m) const {
      Fixed f{0, 0, 0, m < M};
      if (!f.valid) return f;
      int c, tap, i, j;
      taps.divmod(m, c, tap);
      kernel_w.divmod(tap, i, j);
      f.offset = c * height * width;
      f.di = i - padding;
      f.dj = j - padding;
      return f;
    }
    PRUNUS_HD float load(const Fixed& f, int k) const {
      if (!f.valid || k >= K) return 0.0f;
      int n, pixel, oh, ow;
      out_pixels.divmod(k, n, pixel);
      out_w.divmod(pixel, oh, ow);
      const int h = oh * stride + f.di, w = ow * stride + f.dj;
      if (h < 0 || h >= height || w < 0 || w >= width) return 0.0f;
      return x[n * image_size + f.offset + h * width + w];
    }
  };
  // B(k = output pixel (n, oh, ow), n = filter f) = dy[n, f, oh, ow].
  struct BLoader {
    static constexpr bool kKMajor = true;
    struct Fixed {
      int offset;  // f * OH * OW
      bool valid;
    };
    const float* dy;
    int N, K, output_size;  // output_size = F * OH * OW (one image of dy)
    FastDivmod out_pixels;
    PRUNUS_HD Fixed fixed(int n) const { return {n * out_pixels.divisor, n < N}; }
    PRUNUS_HD float load(const Fixed& f, int k) const {
      if (!f.valid || k >= K) return 0.0f;
      int image, pixel;
      out_pixels.divmod(k, image, pixel);
      return dy[image * output_size + f.offset + pixel];
    }
  };

  int M, N, K;
  ALoader a;
  BLoader b;
  float* dw;

  PRUNUS_HD void store(int m, int n, float value) const { dw[n * M + m] = value; }  // dw[f, (c, i, j)]
};

inline ConvBackwardWeightProblem make_backward_weight_problem(const kernels::Conv2dShape& shape, const float* x,
                                                              const float* dy, float* dw) {
  const ConvSizes s = conv_sizes(shape);
  ConvBackwardWeightProblem p;
  p.M = s.channels * s.taps();
  p.N = s.filters;
  p.K = s.batch * s.out_pixels();
  p.a = {x,
         p.M,
         p.K,
         s.height,
         s.width,
         s.channels * s.in_pixels(),
         s.stride,
         s.padding,
         FastDivmod(s.taps()),
         FastDivmod(s.kernel_w),
         FastDivmod(s.out_pixels()),
         FastDivmod(s.out_w)};
  p.b = {dy, p.N, p.K, s.filters * s.out_pixels(), FastDivmod(s.out_pixels())};
  p.dw = dw;
  return p;
}

}  // namespace cuda
}  // namespace prunus
