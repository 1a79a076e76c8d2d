// Stripe-sparse convolution (the "filter skeleton" of SWP): every filter keeps
// only some of its K*K kernel positions, each with a weight per input channel.
// Stripe s belongs to filter stripe_filter[s] at kernel position
// stripe_position[s] = i*K + j and has weights weight[s, 0..C):
//   y[n,f,oh,ow] = bias[f] + sum over stripes s of f, c of
//                  weight[s,c] * x[n, c, oh*stride - padding + i, ow*stride - padding + j]
// (zero outside the input). Computed position by position: the input shifted
// to position (i,j) times the stripes at that position, one matrix multiply
// each, so the work is proportional to the number of stripes kept.
// Recorded as "stripe_conv2d" (inputs x, weight[, bias]) with a "macs"
// attribute (per image) for the model summary, and differentiable in x,
// weight and bias. float32 runs the stripe kernels of kernels/stripe_conv.h;
// float64 runs a plain per-position implementation with the reference GEMM.
#pragma once
#include <cstdint>
#include <vector>

#include "prunus/tensor.h"

namespace prunus {
namespace prune {

struct StripeLayout {
  int in_channels = 0, out_channels = 0, kernel = 1, stride = 1, padding = 0;
  std::vector<int32_t> stripe_filter;    // [S], in [0, out_channels)
  std::vector<int32_t> stripe_position;  // [S], in [0, kernel*kernel); sorted by position, then filter
  int64_t stripes() const { return int64_t(stripe_filter.size()); }
  // Throws naming the first bad entry (out of order, a repeated (filter,
  // position) pair, an index out of range).
  void check(const char* who) const;
};

// x [N,C,H,W], weight [S,C], bias [F] or undefined -> [N,F,OH,OW].
Tensor stripe_conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const StripeLayout& layout);

}  // namespace prune
}  // namespace prunus
