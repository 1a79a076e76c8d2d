// Gathering 16 floats at fixed relative offsets with plain vector loads
// (AVX-512). The offsets of a vector's lanes are cut into groups that each fit
// a 32-float window; a group costs two loads and one permute, or one load
// when its lanes are contiguous. The plan depends only on the offsets, so it
// is made once and applied at many base addresses (every im2col row, or
// every pixel). Internal to src/kernels.
#pragma once
#if defined(__AVX512F__)
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "simd_transpose.h"

namespace prunus {
namespace kernels {

struct LaneGroup {
  __m512i index;                  // lane -> position in the window
  int64_t window;                 // offset of the window's first float
  int64_t contiguous_base;        // lane l reads contiguous_base + l, when contiguous
  __mmask16 lanes;                // the lanes this group fills
  __mmask16 load_low, load_high;  // the parts of the window read
  bool contiguous;
};

struct VectorPlan {
  std::vector<LaneGroup> groups;
  std::vector<int> first;  // groups of vector v: [first[v], first[v + 1])
  int vectors() const { return int(first.size()) - 1; }
  const LaneGroup* begin(int v) const { return groups.data() + first[v]; }
  const LaneGroup* end(int v) const { return groups.data() + first[v + 1]; }
};

// Plans ceil(count / 16) vectors; lane l of vector v reads offsets[16v + l],
// lanes past count read nothing and come out zero.
inline void plan_lane_gather(const int64_t* offsets, int count, VectorPlan& plan) {
  plan.groups.clear();
  plan.first.clear();
  alignas(64) int32_t index[16];
  for (int v = 0; v * 16 < count; ++v) {
    plan.first.push_back(int(plan.groups.size()));
    LaneGroup* group = nullptr;
    int first_lane = 0, span = 0;
    auto close_group = [&] {
      if (!group) return;
      group->index = _mm512_load_si512(index);
      group->load_low = first_lanes(span);
      group->load_high = first_lanes(span - 16);
    };
    for (int lane = 0; lane < 16 && v * 16 + lane < count; ++lane) {
      const int64_t source = offsets[v * 16 + lane];
      if (!group || source < group->window || source - group->window > 31) {
        close_group();
        plan.groups.emplace_back();
        group = &plan.groups.back();
        group->window = source;
        group->contiguous_base = source - lane;
        group->lanes = 0;
        group->contiguous = true;
        first_lane = lane;
        span = 0;
        for (int32_t& i : index) i = 0;
      }
      const int position = int(source - group->window);
      index[lane] = position;
      group->lanes = static_cast<__mmask16>(group->lanes | (1u << lane));
      group->contiguous = group->contiguous && position == lane - first_lane;
      span = std::max(span, position + 1);
    }
    close_group();
  }
  plan.first.push_back(int(plan.groups.size()));
}

inline __m512 gather_lanes(const float* base, const LaneGroup* group, const LaneGroup* end) {
  if (end - group == 1 && group->contiguous) return _mm512_maskz_loadu_ps(group->lanes, base + group->contiguous_base);
  __m512 v = _mm512_setzero_ps();
  for (; group != end; ++group) {
    __m512 part;
    if (group->contiguous) {
      part = _mm512_maskz_loadu_ps(group->lanes, base + group->contiguous_base);
    } else {
      const __m512 low = _mm512_maskz_loadu_ps(group->load_low, base + group->window);
      const __m512 high = _mm512_maskz_loadu_ps(group->load_high, base + group->window + 16);
      part = _mm512_permutex2var_ps(low, group->index, high);
    }
    v = _mm512_mask_mov_ps(v, group->lanes, part);
  }
  return v;
}

}  // namespace kernels
}  // namespace prunus
#endif
