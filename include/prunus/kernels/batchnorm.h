// Batch normalization kernels on raw arrays. The input is viewed as
// [batch, channels, spatial] (spatial = H*W for BatchNorm2d, 1 for
// BatchNorm1d); statistics are per channel over batch*spatial values.
// Every output array is overwritten, never accumulated.
//   reference: plain loops, float or double, accumulating in double; the
//              tests compare the fast versions against these.
//   fast:      float32, OpenMP over channels, vectorizable inner loops,
//              deterministic (each channel is reduced by one thread in a
//              fixed order, so the thread count does not change the result).
//   synchronized: the fast training kernels take an optional SumAcross, which
//              sums per-channel partial sums over the processes of a
//              data-parallel run, so every process normalizes with the
//              statistics of the whole global batch (null: this process alone,
//              and the arithmetic is exactly the unsynchronized one).
#pragma once
#include <cstdint>
#include <functional>

namespace prunus {
namespace kernels {

struct BatchNormShape {
  int64_t batch = 1, channels = 1, spatial = 1;
  int64_t per_channel() const { return batch * spatial; }  // values reduced per channel
  int64_t numel() const { return batch * channels * spatial; }
};

// Training forward. Normalizes with the batch mean and the biased variance,
// writes y, and per channel the mean and 1/sqrt(var + eps) for the backward.
// When running_mean/running_var are not null they are updated in place:
//   running = (1 - momentum) * running + momentum * batch_stat,
// with the unbiased variance (needs per_channel() > 1).
template <typename T>
void batchnorm_forward_train_reference(const BatchNormShape& s, const T* x, const T* gamma, const T* beta, double eps,
                                       double momentum, T* running_mean, T* running_var, T* y, T* saved_mean,
                                       T* saved_inv_std);
// Eval forward: y = gamma * (x - running_mean) / sqrt(running_var + eps) + beta.
template <typename T>
void batchnorm_forward_eval_reference(const BatchNormShape& s, const T* x, const T* gamma, const T* beta,
                                      const T* running_mean, const T* running_var, double eps, T* y);
// Backward of the training forward (the batch statistics depend on x).
// mean/inv_std are what the forward saved.
template <typename T>
void batchnorm_backward_train_reference(const BatchNormShape& s, const T* x, const T* dy, const T* gamma, const T* mean,
                                        const T* inv_std, T* dx, T* dgamma, T* dbeta);
// Backward of the eval forward: the statistics are constants; mean/inv_std
// are the running mean and 1/sqrt(running_var + eps) used by the forward.
template <typename T>
void batchnorm_backward_eval_reference(const BatchNormShape& s, const T* x, const T* dy, const T* gamma, const T* mean,
                                       const T* inv_std, T* dx, T* dgamma, T* dbeta);

// Sums `n` doubles in place over every process of the run (a collective: each
// process calls it the same number of times, in the same order).
using SumAcross = std::function<void(double* values, int64_t n)>;

void batchnorm_forward_train(const BatchNormShape& s, const float* x, const float* gamma, const float* beta, double eps,
                             double momentum, float* running_mean, float* running_var, float* y, float* saved_mean,
                             float* saved_inv_std, const SumAcross* across = nullptr);
void batchnorm_forward_eval(const BatchNormShape& s, const float* x, const float* gamma, const float* beta,
                            const float* running_mean, const float* running_var, double eps, float* y);
// With `across`, dgamma and dbeta are this process's share (the gradient
// all-reduce sums them); dx uses the sums over every process.
void batchnorm_backward_train(const BatchNormShape& s, const float* x, const float* dy, const float* gamma,
                              const float* mean, const float* inv_std, float* dx, float* dgamma, float* dbeta,
                              const SumAcross* across = nullptr);
void batchnorm_backward_eval(const BatchNormShape& s, const float* x, const float* dy, const float* gamma,
                             const float* mean, const float* inv_std, float* dx, float* dgamma, float* dbeta);

}  // namespace kernels
}  // namespace prunus
