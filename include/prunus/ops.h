// Differentiable operations. Each takes and returns Tensors, checks its
// arguments (one clear error naming the op and the shapes), computes the
// result with the kernels in include/prunus/kernels/, and records a Node for
// autograd. float32 tensors take the fast kernels; float64 tensors take the
// reference kernels, which is how the finite-difference tests check the
// backward formulas in double precision through this very code.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "prunus/tensor.h"

namespace prunus {
class Rng;

namespace ops {

// x [N,C,H,W], weight [F,C,KH,KW], bias [F] or undefined -> [N,F,OH,OW].
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, int stride = 1, int padding = 0);

// Batch normalization over N,H,W for each channel of x [N,C,H,W].
// training: normalizes with the batch statistics (biased variance) and updates
// running_mean/running_var in place (unbiased variance, PyTorch's convention):
//   running = (1 - momentum) * running + momentum * batch.
// eval: normalizes with the running statistics.
Tensor batchnorm2d(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                   Tensor& running_var, bool training, double momentum = 0.1, double eps = 1e-5);
// The same for x [N,C] (BatchNorm1d, used by VGG's classifier).
Tensor batchnorm1d(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                   Tensor& running_var, bool training, double momentum = 0.1, double eps = 1e-5);
// While one lives, training-mode batch norm (float32) normalizes with the
// statistics of the global batch of a data-parallel run: `sum_across` sums
// doubles in place over its processes (a collective; every process must run
// the same ops). Its backward, even after the scope ends, uses the same sums.
class SynchronizedBatchNorm {
 public:
  explicit SynchronizedBatchNorm(std::function<void(double* values, int64_t n)> sum_across);
  ~SynchronizedBatchNorm();
  SynchronizedBatchNorm(const SynchronizedBatchNorm&) = delete;
  SynchronizedBatchNorm& operator=(const SynchronizedBatchNorm&) = delete;
};

Tensor relu(const Tensor& x);
Tensor maxpool2d(const Tensor& x, int kernel, int stride, int padding = 0);
// Average over the window; padded positions count as zeros (count_include_pad).
Tensor avgpool2d(const Tensor& x, int kernel, int stride, int padding = 0);
Tensor global_avgpool(const Tensor& x);  // [N,C,H,W] -> [N,C]

// x [N,in], weight [out,in], bias [out] or undefined -> [N,out].
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias);

// Elementwise. b must have a's shape, or a's rank with some dims equal to 1
// (broadcast along them): [1,C,1,1] per-channel, [F,1,1,1] per-filter gates,
// [F,1,KH,KW] stripe gates, [F,C,1,1] channel gates.
Tensor add(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);

// Concatenation along dim 1 (channels) of tensors equal in every other dim.
Tensor concat(const std::vector<Tensor>& parts);

Tensor flatten(const Tensor& x);                    // [N, ...] -> [N, rest]
Tensor reshape(const Tensor& x, const Shape& shape);  // recorded view

// Inverted dropout: zeroes with probability p and scales survivors by 1/(1-p)
// in training; identity otherwise.
Tensor dropout(const Tensor& x, double p, bool training, Rng& rng);

// ResNet option A shortcut: spatial subsample by `stride` and zero channels
// added before and after: [N,C,H,W] -> [N,pad_before+C+pad_after,ceil(H/s),ceil(W/s)].
Tensor subsample_pad_channels(const Tensor& x, int stride, int pad_before, int pad_after);

// Mean over the batch of -log softmax(logits)[label]; logits [N,K], labels in [0,K).
Tensor cross_entropy(const Tensor& logits, const std::vector<int>& labels);

Tensor sum(const Tensor& x);   // all elements -> [1]
Tensor mean(const Tensor& x);  // all elements -> [1]

}  // namespace ops
}  // namespace prunus
