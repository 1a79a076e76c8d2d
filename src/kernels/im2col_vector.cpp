// AVX-512 im2col: every output vector is a planned lane gather
// (lane_gather.h). For im2col rows the lanes are 16 pixels and the base
// moves along the rows; for the transposed panels of the weight gradient the
// lanes are 16 rows (channels-last: mostly one contiguous load) and the base
// moves along the pixels.
#if defined(__AVX512F__)
#include <algorithm>

#include "lane_gather.h"
#include "prunus/kernels/gemm_packed.h"
#include "prunus/kernels/im2col.h"

namespace prunus {
namespace kernels {
namespace {

// Pixel plans depend only on the geometry and the column range, and a layer
// sees the same few ranges again and again: keep the last few per thread.
struct PixelPlanKey {
  int64_t pixel_begin, padded_image_size;
  int pixel_count, out_width, out_height, stride, padded_width, channels;
  bool channels_last;
  bool operator==(const PixelPlanKey& o) const {
    return pixel_begin == o.pixel_begin && padded_image_size == o.padded_image_size &&
           pixel_count == o.pixel_count && out_width == o.out_width && out_height == o.out_height &&
           stride == o.stride && padded_width == o.padded_width && channels == o.channels &&
           channels_last == o.channels_last;
  }
};

const VectorPlan& pixel_plan(const Im2colGeometry& g, int64_t pixel_begin, int pixel_count) {
  constexpr int kCached = 4;
  struct Entry {
    bool valid = false;
    PixelPlanKey key;
    VectorPlan plan;
  };
  thread_local Entry cache[kCached];
  thread_local int next = 0;
  thread_local std::vector<int64_t> offsets;
  const PixelPlanKey key{pixel_begin, g.padded_image_size(), pixel_count, g.out_width, g.out_height,
                         g.stride, g.padded_width, g.channels, false};
  for (Entry& e : cache)
    if (e.valid && e.key == key) return e.plan;
  Entry& e = cache[next];
  next = (next + 1) % kCached;
  pixel_source_offsets(g, pixel_begin, pixel_count, false, offsets);
  plan_lane_gather(offsets.data(), pixel_count, e.plan);
  e.key = key;
  e.valid = true;
  return e.plan;
}

}  // namespace

void im2col_pack_panels(const Im2colGeometry& g, const float* padded, const int64_t* row_offsets, int rows,
                        int64_t pixel_begin, int pixel_count, float* panels) {
  using gemm::kPanelWidth;
  static_assert(kPanelWidth == 32, "two vectors per panel row");
  const VectorPlan& plan = pixel_plan(g, pixel_begin, pixel_count);
  const int vectors = plan.vectors();
  for (int q = 0; q < gemm::panel_count(pixel_count); ++q) {
    float* out = panels + int64_t(q) * rows * kPanelWidth;
    const bool second = 2 * q + 1 < vectors;
    const LaneGroup *b0 = plan.begin(2 * q), *e0 = plan.end(2 * q);
    const LaneGroup *b1 = second ? plan.begin(2 * q + 1) : nullptr, *e1 = second ? plan.end(2 * q + 1) : nullptr;
    for (int r = 0; r < rows; ++r) {
      const float* base = padded + row_offsets[r];
      float* dst = out + int64_t(r) * kPanelWidth;
      _mm512_storeu_ps(dst, gather_lanes(base, b0, e0));
      _mm512_storeu_ps(dst + 16, second ? gather_lanes(base, b1, e1) : _mm512_setzero_ps());
    }
  }
}

void im2col_rows(const Im2colGeometry& g, const float* padded, const int64_t* row_offsets, int rows,
                 int64_t pixel_begin, int pixel_count, float* dst, int64_t ld) {
  const VectorPlan& plan = pixel_plan(g, pixel_begin, pixel_count);
  const int vectors = plan.vectors();
  for (int r = 0; r < rows; ++r) {
    const float* base = padded + row_offsets[r];
    float* row = dst + r * ld;
    for (int v = 0; v < vectors; ++v)
      _mm512_mask_storeu_ps(row + 16 * v, first_lanes(int(std::min<int64_t>(16, ld - 16 * v))),
                            gather_lanes(base, plan.begin(v), plan.end(v)));
    std::fill(row + std::min<int64_t>(ld, 16 * vectors), row + ld, 0.0f);
  }
}

void im2col_transposed_panels(const Im2colGeometry& g, const float* padded, const int64_t* row_offsets, int rows,
                              int64_t pixel_begin, int pixel_count, float* panels) {
  using gemm::kPanelWidth;
  thread_local VectorPlan row_plan;
  thread_local std::vector<int64_t> pixels;
  plan_lane_gather(row_offsets, rows, row_plan);
  pixel_source_offsets(g, pixel_begin, pixel_count, true, pixels);
  const int vectors = row_plan.vectors(), depth = transposed_panel_depth(pixel_count);
  for (int q = 0; q < gemm::panel_count(rows); ++q) {
    float* out = panels + int64_t(q) * depth * kPanelWidth;
    const bool second = 2 * q + 1 < vectors;
    const LaneGroup *b0 = row_plan.begin(2 * q), *e0 = row_plan.end(2 * q);
    const LaneGroup *b1 = second ? row_plan.begin(2 * q + 1) : nullptr;
    const LaneGroup *e1 = second ? row_plan.end(2 * q + 1) : nullptr;
    for (int p = 0; p < pixel_count; ++p) {
      const float* base = padded + pixels[size_t(p)];
      float* dst = out + int64_t(p) * kPanelWidth;
      _mm512_storeu_ps(dst, gather_lanes(base, b0, e0));
      _mm512_storeu_ps(dst + 16, second ? gather_lanes(base, b1, e1) : _mm512_setzero_ps());
    }
    for (int p = pixel_count; p < depth; ++p) {
      _mm512_storeu_ps(out + int64_t(p) * kPanelWidth, _mm512_setzero_ps());
      _mm512_storeu_ps(out + int64_t(p) * kPanelWidth + 16, _mm512_setzero_ps());
    }
  }
}

}  // namespace kernels
}  // namespace prunus
#endif
