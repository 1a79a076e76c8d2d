// CUDA kernels on raw device pointers, with the semantics of the CPU kernels
// in include/prunus/kernels/*.h (same shapes, same layouts, outputs
// overwritten, never accumulated, unless a name says "accumulate").
// Every pointer here is device memory (device_alloc); every function queues
// its work on prunus' stream (runtime.h) and returns without waiting.
// Sizes are checked on the host and a bad one throws prunus::Error; tensors
// must hold fewer than 2^31 elements (the kernels index with int).
// Reductions are deterministic: a fixed partition combined in a fixed order,
// no atomics, so the same inputs give bit-identical outputs on one GPU model.
#pragma once
#include <cstdint>

#include "prunus/kernels/batchnorm.h"
#include "prunus/kernels/conv2d.h"
#include "prunus/kernels/pool.h"

namespace prunus {
namespace cuda {

using kernels::BatchNormShape;
using kernels::Conv2dShape;
using kernels::Pool2dShape;

// ---------------------------------------------------------------- convolution
// Numbered versions, as in llm.c, selectable for the tests and the benchmark:
//   1  naive: one thread per output element, the reference loops (slow, obviously right)
//   2  tiled implicit GEMM: 16x16 output tiles through shared memory, one output per thread
//      (split-K as in v3)
//   3  register-tiled implicit GEMM: 128-row tiles, 4x4..8x8 outputs per thread from
//      float4 shared-memory reads, register prefetch of the next tile, split-K when the
//      output alone cannot fill the GPU (the split partials are summed in a fixed order)
constexpr int kConvNaive = 1;
constexpr int kConvTiled = 2;
constexpr int kConvRegisterTiled = 3;
constexpr int kConvVersionCount = 3;
constexpr int kConvDefaultVersion = kConvRegisterTiled;
const char* conv_version_name(int version);  // "v1 naive", ...

// y[N,F,OH,OW] = conv(x[N,C,H,W], w[F,C,KH,KW]) + bias[F] (bias may be null).
void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y,
                    int version = kConvDefaultVersion);
// dx[N,C,H,W] from dy[N,F,OH,OW] and w.
void conv2d_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx,
                          int version = kConvDefaultVersion);
// dw[F,C,KH,KW] from x and dy.
void conv2d_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw,
                            int version = kConvDefaultVersion);

// ----------------------------------------------------------------- batch norm
// As kernels::batchnorm_* (batchnorm.h): x viewed as [batch, channels, spatial],
// per-channel statistics over batch*spatial values; the training forward saves
// the mean and 1/sqrt(var + eps) and, when running_mean/running_var are not
// null, updates them with the unbiased variance.
void batchnorm_forward_train(const BatchNormShape& s, const float* x, const float* gamma, const float* beta,
                             double eps, double momentum, float* running_mean, float* running_var, float* y,
                             float* saved_mean, float* saved_inv_std);
void batchnorm_forward_eval(const BatchNormShape& s, const float* x, const float* gamma, const float* beta,
                            const float* running_mean, const float* running_var, double eps, float* y);
void batchnorm_backward_train(const BatchNormShape& s, const float* x, const float* dy, const float* gamma,
                              const float* mean, const float* inv_std, float* dx, float* dgamma, float* dbeta);
void batchnorm_backward_eval(const BatchNormShape& s, const float* x, const float* dy, const float* gamma,
                             const float* mean, const float* inv_std, float* dx, float* dgamma, float* dbeta);

// -------------------------------------------------------------------- pooling
// As kernels::*pool* (pool.h); argmax is int32 device memory. The backward
// passes gather (each input sums the outputs that chose it, in output order)
// instead of scattering with atomics, so they are deterministic.
void maxpool2d_forward(const Pool2dShape& s, const float* x, float* y, int32_t* argmax);
void maxpool2d_backward(const Pool2dShape& s, const float* dy, const int32_t* argmax, float* dx);
void avgpool2d_forward(const Pool2dShape& s, const float* x, float* y);
void avgpool2d_backward(const Pool2dShape& s, const float* dy, float* dx);
void global_avgpool_forward(int64_t planes, int64_t plane_size, const float* x, float* y);
void global_avgpool_backward(int64_t planes, int64_t plane_size, const float* dy, float* dx);

// ---------------------------------------------------------------- elementwise
// relu: y = x < 0 ? 0 : x (NaN passes); dx = x > 0 ? dy : 0.
void relu_forward(const float* x, float* y, int64_t count);
void relu_backward(const float* x, const float* dy, float* dx, int64_t count);
void add(const float* a, const float* b, float* y, int64_t count);  // y = a + b (y may alias a or b)
void accumulate(float* dst, const float* src, int64_t count);       // dst += src (gradient accumulation)
void fill(float* y, float value, int64_t count);

// Channel concatenation of NCHW-like arrays ([batch, channels, inner...]):
// copies `channels` channels starting at src_offset of src (which has
// src_channels) to dst starting at dst_offset (dst has dst_channels), for
// every batch index. concat's forward copies each part in; its backward
// copies each part's slice of the gradient out.
void copy_channels(const float* src, int64_t src_channels, int64_t src_offset, float* dst, int64_t dst_channels,
                   int64_t dst_offset, int64_t batch, int64_t channels, int64_t inner);

// ------------------------------------------------------------------------ loss
// Softmax cross-entropy over logits [N,K] with int32 labels in [0, K) (checked
// by the caller on the host: a label outside makes the loss NaN, never an
// out-of-bounds read). Writes probabilities [N,K] (kept for the backward) and
// loss[0] = mean over rows of -log softmax[label], rows summed in a fixed order.
void softmax_cross_entropy_forward(const float* logits, const int32_t* labels, int N, int K, float* probabilities,
                                   float* loss);
// grad[N,K] = scale * (probabilities - one_hot(label)); scale is usually dloss / N.
void softmax_cross_entropy_backward(const float* probabilities, const int32_t* labels, int N, int K, double scale,
                                    float* grad);

// ----------------------------------------------------------------- optimizer
// One SGD step on one parameter, element by element exactly as optim::SGD
// (include/prunus/optim/sgd.h) does on the CPU:
//   g <- mask ? g : 0 (written back); g <- g + weight_decay * p;
//   buf <- momentum * buf + g; update <- nesterov ? g + momentum * buf : buf (g without buf);
//   p <- p - step_size * update; p, buf <- 0 where mask == 0;
//   p <- sign(p) * max(|p| - step_size * strength, 0) (when l1_strength is set;
//   its momentum is zeroed too where p became 0 if reset_momentum_on_zero).
struct SgdStep {
  float* param = nullptr;
  float* grad = nullptr;
  float* momentum_buffer = nullptr;    // null: no momentum
  const float* mask = nullptr;         // null: unmasked
  const float* l1_strength = nullptr;  // null: no L1; else one value or one per element
  bool l1_scalar = false;
  int64_t count = 0;
  float step_size = 0;  // lr * lr_scale
  float momentum = 0;
  float weight_decay = 0;
  bool nesterov = false;
  bool reset_momentum_on_zero = true;
};
void sgd_step(const SgdStep& step);

// ------------------------------------------------------------ linear (cuBLAS)
// Row-major, as ops::linear: y[N,out] = x[N,in] * w[out,in]^T + bias[out].
void linear_forward(int batch, int in_features, int out_features, const float* x, const float* w, const float* bias,
                    float* y);
void linear_backward_data(int batch, int in_features, int out_features, const float* dy, const float* w, float* dx);
void linear_backward_weight(int batch, int in_features, int out_features, const float* x, const float* dy,
                            float* dw);
void linear_backward_bias(int batch, int out_features, const float* dy, float* dbias);  // column sums of dy

}  // namespace cuda
}  // namespace prunus
