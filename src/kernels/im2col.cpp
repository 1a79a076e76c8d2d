// im2col / col2im on padded images. The columns of a block are cut into
// segments, each a run of output pixels along one output row, so one segment
// of one im2col row is a (strided) run of one padded input row.
#include "prunus/kernels/im2col.h"

#include <algorithm>
#include <cstring>

#include "prunus/kernels/gemm_packed.h"
#include "simd_transpose.h"

namespace prunus {
namespace kernels {
namespace {

struct Segment {
  int64_t source;  // offset into the padded images of the segment's first pixel
  int column;      // first column of the block it fills
  int length;
};

// Segments of columns [pixel_begin, pixel_begin + pixel_count); a segment
// never crosses a multiple of split_every (panel boundaries) when that is > 0.
void collect_segments(const Im2colGeometry& g, int64_t pixel_begin, int pixel_count, int split_every,
                      std::vector<Segment>& out) {
  out.clear();
  const int64_t per_image = g.out_pixels();
  int64_t p = pixel_begin;
  int column = 0;
  while (column < pixel_count) {
    const int64_t n = p / per_image, r = p - n * per_image;
    const int oh = int(r / g.out_width), ow = int(r - int64_t(oh) * g.out_width);
    int length = std::min(g.out_width - ow, pixel_count - column);
    if (split_every > 0) length = std::min(length, split_every - column % split_every);
    const int64_t source =
        n * g.padded_image_size() + int64_t(oh) * g.stride * g.padded_width + int64_t(ow) * g.stride;
    out.push_back({source, column, length});
    p += length;
    column += length;
  }
}

std::vector<Segment>& thread_segments() {
  thread_local std::vector<Segment> segments;
  return segments;
}

// dst[t] = src[t * stride] for t < length.
inline void copy_run(const float* src, int stride, int length, float* dst) {
#if defined(__AVX512F__)
  if (stride == 1) {
    for (int t = 0; t < length; t += 16) {
      const __mmask16 m = first_lanes(length - t);
      _mm512_mask_storeu_ps(dst + t, m, _mm512_maskz_loadu_ps(m, src + t));
    }
    return;
  }
  if (stride == 2) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    for (int t = 0; t < length; t += 16) {
      const int n = std::min(16, length - t), span = 2 * n - 1;
      const float* s = src + 2 * t;
      const __m512 lo = _mm512_maskz_loadu_ps(first_lanes(span), s);
      const __m512 hi = _mm512_maskz_loadu_ps(first_lanes(span - 16), s + 16);
      _mm512_mask_storeu_ps(dst + t, first_lanes(n), _mm512_permutex2var_ps(lo, even, hi));
    }
    return;
  }
#endif
  if (stride == 1) {
    std::memcpy(dst, src, sizeof(float) * length);
    return;
  }
  for (int t = 0; t < length; ++t) dst[t] = src[int64_t(t) * stride];
}

// dst[t * stride] += src[t] for t < length.
inline void add_run(const float* src, int length, float* dst, int stride) {
#if defined(__AVX512F__)
  if (stride == 1) {
    for (int t = 0; t < length; t += 16) {
      const __mmask16 m = first_lanes(length - t);
      const __m512 sum = _mm512_add_ps(_mm512_maskz_loadu_ps(m, dst + t), _mm512_maskz_loadu_ps(m, src + t));
      _mm512_mask_storeu_ps(dst + t, m, sum);
    }
    return;
  }
  if (stride == 2) {
    // Spread 16 sources over the even lanes of two destination vectors.
    const __m512i to_low = _mm512_setr_epi32(0, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0);
    const __m512i to_high = _mm512_setr_epi32(8, 0, 9, 0, 10, 0, 11, 0, 12, 0, 13, 0, 14, 0, 15, 0);
    for (int t = 0; t < length; t += 16) {
      const int n = std::min(16, length - t), span = 2 * n - 1;
      const __m512 values = _mm512_maskz_loadu_ps(first_lanes(n), src + t);
      float* d = dst + 2 * t;
      const __mmask16 low = first_lanes(span) & 0x5555, high = first_lanes(span - 16) & 0x5555;
      const __m512 sum_low = _mm512_add_ps(_mm512_maskz_loadu_ps(low, d), _mm512_maskz_permutexvar_ps(low, to_low, values));
      const __m512 sum_high =
          _mm512_add_ps(_mm512_maskz_loadu_ps(high, d + 16), _mm512_maskz_permutexvar_ps(high, to_high, values));
      _mm512_mask_storeu_ps(d, low, sum_low);
      _mm512_mask_storeu_ps(d + 16, high, sum_high);
    }
    return;
  }
#endif
  for (int t = 0; t < length; ++t) dst[int64_t(t) * stride] += src[t];
}

}  // namespace

Im2colGeometry conv_input_geometry(const Conv2dShape& s) {
  Im2colGeometry g;
  g.channels = s.in_channels;
  g.height = s.in_height;
  g.width = s.in_width;
  g.kernel_h = s.kernel_h;
  g.kernel_w = s.kernel_w;
  g.stride = s.stride;
  g.padding = s.padding;
  g.out_height = s.out_height();
  g.out_width = s.out_width();
  g.padded_height = s.in_height + 2 * s.padding;
  g.padded_width = s.in_width + 2 * s.padding;
  return g;
}

Im2colGeometry plain_geometry(int channels, int height, int width) {
  Im2colGeometry g;
  g.channels = channels;
  g.height = g.out_height = g.padded_height = height;
  g.width = g.out_width = g.padded_width = width;
  return g;
}

std::vector<int64_t> all_row_offsets(const Im2colGeometry& g) {
  std::vector<int64_t> offsets;
  offsets.reserve(size_t(g.channels) * g.kernel_h * g.kernel_w);
  for (int c = 0; c < g.channels; ++c)
    for (int i = 0; i < g.kernel_h; ++i)
      for (int j = 0; j < g.kernel_w; ++j) offsets.push_back(g.row_offset(c, i, j));
  return offsets;
}

std::vector<int64_t> channels_last_row_offsets(const Im2colGeometry& g) {
  std::vector<int64_t> offsets;
  offsets.reserve(size_t(g.channels) * g.kernel_h * g.kernel_w);
  for (int i = 0; i < g.kernel_h; ++i)
    for (int j = 0; j < g.kernel_w; ++j)
      for (int c = 0; c < g.channels; ++c) offsets.push_back((int64_t(i) * g.padded_width + j) * g.channels + c);
  return offsets;
}

void pixel_source_offsets(const Im2colGeometry& g, int64_t pixel_begin, int pixel_count, bool channels_last,
                          std::vector<int64_t>& out) {
  out.resize(size_t(pixel_count));
  const int64_t per_image = g.out_pixels(), scale = channels_last ? g.channels : 1;
  int64_t n = pixel_begin / per_image;
  int oh = int((pixel_begin - n * per_image) / g.out_width);
  int ow = int(pixel_begin - n * per_image - int64_t(oh) * g.out_width);
  for (int t = 0; t < pixel_count; ++t) {
    out[size_t(t)] =
        n * g.padded_image_size() + (int64_t(oh) * g.stride * g.padded_width + int64_t(ow) * g.stride) * scale;
    if (++ow == g.out_width) {
      ow = 0;
      if (++oh == g.out_height) {
        oh = 0;
        ++n;
      }
    }
  }
}

void pad_image(const Im2colGeometry& g, const float* image, float* padded) {
  const int P = g.padding, Wp = g.padded_width;
  for (int c = 0; c < g.channels; ++c) {
    float* plane = padded + int64_t(c) * g.padded_height * Wp;
    const float* source = image + int64_t(c) * g.height * g.width;
    std::fill(plane, plane + int64_t(P) * Wp, 0.0f);
    for (int h = 0; h < g.height; ++h) {
      float* row = plane + int64_t(h + P) * Wp;
      std::fill(row, row + P, 0.0f);
      std::memcpy(row + P, source + int64_t(h) * g.width, sizeof(float) * g.width);
      std::fill(row + P + g.width, row + Wp, 0.0f);
    }
    std::fill(plane + int64_t(P + g.height) * Wp, plane + int64_t(g.padded_height) * Wp, 0.0f);
  }
}

void pad_image_channels_last(const Im2colGeometry& g, const float* image, float* padded) {
  const int C = g.channels, P = g.padding, Wp = g.padded_width;
  const int64_t plane = int64_t(g.height) * g.width;
  std::fill(padded, padded + int64_t(P) * Wp * C, 0.0f);
  std::fill(padded + int64_t(P + g.height) * Wp * C, padded + int64_t(g.padded_height) * Wp * C, 0.0f);
  for (int h = 0; h < g.height; ++h) {
    float* row = padded + int64_t(h + P) * Wp * C;
    std::fill(row, row + int64_t(P) * C, 0.0f);
    std::fill(row + int64_t(P + g.width) * C, row + int64_t(Wp) * C, 0.0f);
    const float* source = image + int64_t(h) * g.width;
    float* interior = row + int64_t(P) * C;
#if defined(__AVX512F__)
    // Blocks of 16 channels x 16 columns, transposed in registers.
    for (int c0 = 0; c0 < C; c0 += 16) {
      const int channels = std::min(16, C - c0);
      for (int w0 = 0; w0 < g.width; w0 += 16) {
        const int columns = std::min(16, g.width - w0);
        __m512 block[16];
        for (int c = 0; c < 16; ++c)
          block[c] = c < channels ? _mm512_maskz_loadu_ps(first_lanes(columns), source + (c0 + c) * plane + w0)
                                  : _mm512_setzero_ps();
        transpose16x16(block);
        for (int w = 0; w < columns; ++w)
          _mm512_mask_storeu_ps(interior + int64_t(w0 + w) * C + c0, first_lanes(channels), block[w]);
      }
    }
#else
    for (int w = 0; w < g.width; ++w)
      for (int c = 0; c < C; ++c) interior[int64_t(w) * C + c] = source[c * plane + w];
#endif
  }
}

void unpad_image(const Im2colGeometry& g, const float* padded, float* image) {
  const int P = g.padding, Wp = g.padded_width;
  for (int c = 0; c < g.channels; ++c)
    for (int h = 0; h < g.height; ++h)
      std::memcpy(image + (int64_t(c) * g.height + h) * g.width,
                  padded + (int64_t(c) * g.padded_height + h + P) * Wp + P, sizeof(float) * g.width);
}

#if !defined(__AVX512F__)
// Scalar versions; the AVX-512 ones are in im2col_vector.cpp.

void im2col_pack_panels(const Im2colGeometry& g, const float* padded, const int64_t* row_offsets, int rows,
                        int64_t pixel_begin, int pixel_count, float* panels) {
  using gemm::kPanelWidth;
  std::vector<Segment>& segments = thread_segments();
  collect_segments(g, pixel_begin, pixel_count, kPanelWidth, segments);
  size_t first = 0;
  for (int q = 0; q < gemm::panel_count(pixel_count); ++q) {
    const int panel_start = q * kPanelWidth;
    size_t last = first;
    while (last < segments.size() && segments[last].column < panel_start + kPanelWidth) ++last;
    const int filled = std::min(kPanelWidth, pixel_count - panel_start);
    float* out = panels + int64_t(q) * rows * kPanelWidth;
    for (int r = 0; r < rows; ++r) {
      const float* base = padded + row_offsets[r];
      float* dst = out + int64_t(r) * kPanelWidth - panel_start;
      for (size_t s = first; s < last; ++s)
        copy_run(base + segments[s].source, g.stride, segments[s].length, dst + segments[s].column);
      for (int l = filled; l < kPanelWidth; ++l) dst[panel_start + l] = 0.0f;
    }
    first = last;
  }
}

void im2col_rows(const Im2colGeometry& g, const float* padded, const int64_t* row_offsets, int rows,
                 int64_t pixel_begin, int pixel_count, float* dst, int64_t ld) {
  std::vector<Segment>& segments = thread_segments();
  collect_segments(g, pixel_begin, pixel_count, 0, segments);
  for (int r = 0; r < rows; ++r) {
    const float* base = padded + row_offsets[r];
    float* row = dst + r * ld;
    for (const Segment& s : segments) copy_run(base + s.source, g.stride, s.length, row + s.column);
    std::fill(row + pixel_count, row + ld, 0.0f);
  }
}

void im2col_transposed_panels(const Im2colGeometry& g, const float* padded, const int64_t* row_offsets, int rows,
                              int64_t pixel_begin, int pixel_count, float* panels) {
  using gemm::kPanelWidth;
  std::vector<int64_t> pixels;
  pixel_source_offsets(g, pixel_begin, pixel_count, true, pixels);
  const int depth = transposed_panel_depth(pixel_count);
  for (int q = 0; q < gemm::panel_count(rows); ++q)
    for (int p = 0; p < depth; ++p) {
      float* dst = panels + (int64_t(q) * depth + p) * kPanelWidth;
      for (int l = 0; l < kPanelWidth; ++l) {
        const int r = q * kPanelWidth + l;
        dst[l] = p < pixel_count && r < rows ? padded[pixels[p] + row_offsets[r]] : 0.0f;
      }
    }
}
#endif

void col2im_rows_add(const Im2colGeometry& g, const float* src, int64_t ld, const int64_t* row_offsets, int rows,
                     int64_t pixel_begin, int pixel_count, float* padded) {
  std::vector<Segment>& segments = thread_segments();
  collect_segments(g, pixel_begin, pixel_count, 0, segments);
  for (int r = 0; r < rows; ++r) {
    float* base = padded + row_offsets[r];
    const float* row = src + r * ld;
    for (const Segment& s : segments) add_run(row + s.column, s.length, base + s.source, g.stride);
  }
}

}  // namespace kernels
}  // namespace prunus
