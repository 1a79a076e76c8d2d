// Stripe-sparse convolution for compact (pruned) models. A "stripe" is the
// C weights W[f, :, i, j] of one filter f at one kernel position (i, j);
// stripe pruning removes whole stripes. The compact weight keeps only the
// kept stripes, grouped by kernel position:
//   for each position p = (i, j): the filters that keep it (ascending) and a
//   dense [n_p, C] block, blocks stored one after another in position order.
// Forward: y[f] = bias[f] + sum over positions p kept by f of
//   W_p[row of f] . (x shifted by (i, j)),
// computed per position as one GEMM (n_p x C) * (C x pixels), so the work is
// proportional to the number of kept stripes. Backward-data and
// backward-weight likewise, so compact models can be trained. All arrays are
// NCHW float32; outputs are overwritten.
#pragma once
#include <cstdint>
#include <vector>

#include "prunus/kernels/conv2d.h"

namespace prunus {
namespace kernels {

struct StripePosition {
  int i = 0, j = 0;          // kernel row and column
  std::vector<int> filters;  // output channels that keep this position, ascending
};

struct StripeConvLayout {
  int in_channels = 1, out_channels = 1, kernel = 1, stride = 1, padding = 0;
  std::vector<StripePosition> positions;  // positions kept by at least one filter, row-major (i, j) order

  // Floats in the compact weight: sum over positions of filters * in_channels.
  int64_t compact_weight_size() const;
  // Offset of position p's [n_p, C] block in the compact weight.
  int64_t block_offset(int position) const;
  int64_t kept_stripes() const;
  // The convolution shape for a batch of height x width inputs.
  Conv2dShape shape(int batch, int height, int width) const;
};

// Throws prunus::Error unless the layout is consistent: positive sizes,
// positions inside the kernel and distinct, filters ascending, distinct and
// inside [0, out_channels).
void check_stripe_layout(const StripeConvLayout& layout);

// keep[(f * kernel + i) * kernel + j] != 0 keeps stripe (f, i, j).
StripeConvLayout make_stripe_layout(int in_channels, int out_channels, int kernel, int stride, int padding,
                                    const std::vector<uint8_t>& keep);
// A stripe is kept when any of its C entries in mask [F, C, K, K] is nonzero.
StripeConvLayout stripe_layout_from_mask(int in_channels, int out_channels, int kernel, int stride, int padding,
                                         const float* mask);

// dense [F, C, K, K] -> compact (the kept stripes), and back (zeros elsewhere).
void compact_stripe_weight(const StripeConvLayout& layout, const float* dense, float* compact);
void expand_stripe_weight(const StripeConvLayout& layout, const float* compact, float* dense);

// The modelled time of stripe_conv2d_forward on this layout over that of the
// dense convolution with the removed stripes as zeros (1: as slow). The
// forward pass groups filters that keep similar positions into dense GEMMs
// over the union of their positions; the model counts the multiply-adds
// those GEMMs do, a small tile running at the speed of a few rows.
double stripe_forward_relative_cost(const StripeConvLayout& layout);

// y [N, F, OH, OW] = stripe conv of x [N, C, H, W] + bias [F] (bias may be null).
void stripe_conv2d_forward(const StripeConvLayout& layout, int batch, int height, int width, const float* x,
                           const float* compact_weight, const float* bias, float* y);
// dx [N, C, H, W] from dy [N, F, OH, OW].
void stripe_conv2d_backward_data(const StripeConvLayout& layout, int batch, int height, int width, const float* dy,
                                 const float* compact_weight, float* dx);
// compact_dw (the compact weight's shape) from x and dy.
void stripe_conv2d_backward_weight(const StripeConvLayout& layout, int batch, int height, int width, const float* x,
                                   const float* dy, float* compact_dw);

}  // namespace kernels
}  // namespace prunus
