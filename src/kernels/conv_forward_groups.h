// The forward pass of a convolution as GEMMs over groups of its filters, each
// group reading its own set of im2col rows: the dense convolution is one group
// of every filter and row; the stripe-sparse one (stripe_conv.cpp) has groups
// of filters that keep similar kernel positions, each reading only the rows of
// the positions its filters keep. Internal to src/kernels.
#pragma once
#include <cstdint>
#include <vector>

#include "prunus/kernels/conv2d.h"
#include "prunus/kernels/gemm_packed.h"

namespace prunus {
namespace kernels {

struct ForwardGroup {
  std::vector<int> filters;      // the output channels it computes, in row order; empty: all of them, in order
  std::vector<int64_t> rows;     // the im2col rows it reads (Im2colGeometry::row_offset of the padded input)
  const float* a_tiles = nullptr;  // its weight as GEMM A tiles: output_rows(F) rows, depth rows.size()
  int output_rows(int F) const { return filters.empty() ? F : int(filters.size()); }
};

// Stride 1 with implicit panels: the GEMMs read the padded input in place;
// otherwise every work item packs its group's rows first.
inline bool forward_reads_input_in_place(int stride) { return gemm::kImplicitPanels && stride == 1; }

// y [N, F, OH, OW] = the groups' products + bias (bias may be null). Every
// output channel must belong to exactly one group; y is overwritten there.
// Each element is computed by one thread in a fixed order of operations,
// whatever the thread count.
void conv_forward_groups(const Conv2dShape& s, const float* x, const std::vector<ForwardGroup>& groups,
                         const float* bias, float* y);

}  // namespace kernels
}  // namespace prunus
