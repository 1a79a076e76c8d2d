// cuDNN as a reference backend, only to check and time our own kernels
// against (built with `make CUDA=1 CUDNN=1`, which defines PRUNUS_CUDNN).
// Same signatures and semantics as the functions in kernels.h. Convolutions
// use plain float32 arithmetic (CUDNN_FMA_MATH: no TF32 tensor cores, like
// ours) and, per shape, the fastest algorithm cudnnFind* reports; the choice
// is cached. Without PRUNUS_CUDNN every call throws prunus::Error.
#pragma once
#include <string>

#include "prunus/kernels/batchnorm.h"
#include "prunus/kernels/conv2d.h"

namespace prunus {
namespace cuda {
namespace cudnn {

bool built();  // compiled with PRUNUS_CUDNN
std::string version();  // "9.19.0"

void conv2d_forward(const kernels::Conv2dShape& s, const float* x, const float* w, const float* bias, float* y);
void conv2d_backward_data(const kernels::Conv2dShape& s, const float* dy, const float* w, float* dx);
void conv2d_backward_weight(const kernels::Conv2dShape& s, const float* x, const float* dy, float* dw);
// The algorithms chosen for a shape, e.g. "fwd IMPLICIT_PRECOMP_GEMM, bwd-data ALGO_1, bwd-weight ALGO_1"
// (runs the search if the shape is new).
std::string conv2d_algorithms(const kernels::Conv2dShape& s);

// CUDNN_BATCHNORM_SPATIAL; eps must be >= CUDNN_BN_MIN_EPSILON (0 in cuDNN 9, 1e-5 before).
void batchnorm_forward_train(const kernels::BatchNormShape& s, const float* x, const float* gamma, const float* beta,
                             double eps, double momentum, float* running_mean, float* running_var, float* y,
                             float* saved_mean, float* saved_inv_std);
void batchnorm_forward_eval(const kernels::BatchNormShape& s, const float* x, const float* gamma, const float* beta,
                            const float* running_mean, const float* running_var, double eps, float* y);
void batchnorm_backward_train(const kernels::BatchNormShape& s, const float* x, const float* dy, const float* gamma,
                              const float* mean, const float* inv_std, double eps, float* dx, float* dgamma,
                              float* dbeta);

}  // namespace cudnn
}  // namespace cuda
}  // namespace prunus
