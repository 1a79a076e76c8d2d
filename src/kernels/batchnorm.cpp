// Batch normalization: the reference loops (the definition, accumulating in
// double) and the fast float32 kernels used on the training hot path.
#include "prunus/kernels/batchnorm.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace prunus {
namespace kernels {

static inline int64_t bn_index(const BatchNormShape& s, int64_t n, int64_t c, int64_t i) {
  return (n * s.channels + c) * s.spatial + i;
}

// Unbiased variance from the biased one; a single value has none, so the
// biased one is kept (the ops refuse training on one value per channel).
static inline double unbiased(double biased_var, int64_t count) {
  return count > 1 ? biased_var * double(count) / double(count - 1) : biased_var;
}

// ---------------------------------------------------------------- reference

template <typename T>
void batchnorm_forward_train_reference(const BatchNormShape& s, const T* x, const T* gamma, const T* beta, double eps,
                                       double momentum, T* running_mean, T* running_var, T* y, T* saved_mean,
                                       T* saved_inv_std) {
  const int64_t count = s.per_channel();
  for (int64_t c = 0; c < s.channels; ++c) {
    double sum = 0;
    for (int64_t n = 0; n < s.batch; ++n)
      for (int64_t i = 0; i < s.spatial; ++i) sum += x[bn_index(s, n, c, i)];
    const double mean = sum / double(count);
    double squares = 0;
    for (int64_t n = 0; n < s.batch; ++n)
      for (int64_t i = 0; i < s.spatial; ++i) {
        const double d = x[bn_index(s, n, c, i)] - mean;
        squares += d * d;
      }
    const double var = squares / double(count);
    const double inv_std = 1.0 / std::sqrt(var + eps);
    for (int64_t n = 0; n < s.batch; ++n)
      for (int64_t i = 0; i < s.spatial; ++i) {
        const int64_t k = bn_index(s, n, c, i);
        y[k] = T(double(gamma[c]) * (double(x[k]) - mean) * inv_std + double(beta[c]));
      }
    saved_mean[c] = T(mean);
    saved_inv_std[c] = T(inv_std);
    if (running_mean) running_mean[c] = T((1.0 - momentum) * running_mean[c] + momentum * mean);
    if (running_var) running_var[c] = T((1.0 - momentum) * running_var[c] + momentum * unbiased(var, count));
  }
}

template <typename T>
void batchnorm_forward_eval_reference(const BatchNormShape& s, const T* x, const T* gamma, const T* beta,
                                      const T* running_mean, const T* running_var, double eps, T* y) {
  for (int64_t c = 0; c < s.channels; ++c) {
    const double inv_std = 1.0 / std::sqrt(double(running_var[c]) + eps);
    for (int64_t n = 0; n < s.batch; ++n)
      for (int64_t i = 0; i < s.spatial; ++i) {
        const int64_t k = bn_index(s, n, c, i);
        y[k] = T(double(gamma[c]) * (double(x[k]) - running_mean[c]) * inv_std + double(beta[c]));
      }
  }
}

template <typename T>
void batchnorm_backward_train_reference(const BatchNormShape& s, const T* x, const T* dy, const T* gamma, const T* mean,
                                        const T* inv_std, T* dx, T* dgamma, T* dbeta) {
  const double count = double(s.per_channel());
  for (int64_t c = 0; c < s.channels; ++c) {
    double sum_dy = 0, sum_dy_xhat = 0;
    for (int64_t n = 0; n < s.batch; ++n)
      for (int64_t i = 0; i < s.spatial; ++i) {
        const int64_t k = bn_index(s, n, c, i);
        sum_dy += dy[k];
        sum_dy_xhat += double(dy[k]) * (double(x[k]) - mean[c]) * inv_std[c];
      }
    dbeta[c] = T(sum_dy);
    dgamma[c] = T(sum_dy_xhat);
    // dx = gamma/sigma * (dy - mean(dy) - xhat * mean(dy * xhat))
    for (int64_t n = 0; n < s.batch; ++n)
      for (int64_t i = 0; i < s.spatial; ++i) {
        const int64_t k = bn_index(s, n, c, i);
        const double xhat = (double(x[k]) - mean[c]) * inv_std[c];
        dx[k] = T(double(gamma[c]) * inv_std[c] * (dy[k] - sum_dy / count - xhat * sum_dy_xhat / count));
      }
  }
}

template <typename T>
void batchnorm_backward_eval_reference(const BatchNormShape& s, const T* x, const T* dy, const T* gamma, const T* mean,
                                       const T* inv_std, T* dx, T* dgamma, T* dbeta) {
  for (int64_t c = 0; c < s.channels; ++c) {
    double sum_dy = 0, sum_dy_xhat = 0;
    for (int64_t n = 0; n < s.batch; ++n)
      for (int64_t i = 0; i < s.spatial; ++i) {
        const int64_t k = bn_index(s, n, c, i);
        sum_dy += dy[k];
        sum_dy_xhat += double(dy[k]) * (double(x[k]) - mean[c]) * inv_std[c];
        dx[k] = T(double(dy[k]) * gamma[c] * inv_std[c]);
      }
    dbeta[c] = T(sum_dy);
    dgamma[c] = T(sum_dy_xhat);
  }
}

#define PRUNUS_INSTANTIATE_BATCHNORM(T)                                                                              \
  template void batchnorm_forward_train_reference<T>(const BatchNormShape&, const T*, const T*, const T*, double,    \
                                                     double, T*, T*, T*, T*, T*);                                    \
  template void batchnorm_forward_eval_reference<T>(const BatchNormShape&, const T*, const T*, const T*, const T*,   \
                                                    const T*, double, T*);                                           \
  template void batchnorm_backward_train_reference<T>(const BatchNormShape&, const T*, const T*, const T*, const T*, \
                                                      const T*, T*, T*, T*);                                         \
  template void batchnorm_backward_eval_reference<T>(const BatchNormShape&, const T*, const T*, const T*, const T*,  \
                                                     const T*, T*, T*, T*);
PRUNUS_INSTANTIATE_BATCHNORM(float)
PRUNUS_INSTANTIATE_BATCHNORM(double)
#undef PRUNUS_INSTANTIATE_BATCHNORM

// --------------------------------------------------------------------- fast
// Layout [N,C,S]: each (n, c) pair is one contiguous row of S values. The
// statistics are reduced per channel by one thread (rows in order, each row
// in a fixed SIMD order), then the elementwise passes run over rows.

static constexpr int64_t kParallelThreshold = 32768;  // elements; below this threads cost more than they save

static inline double row_sum(const float* p, int64_t n) {
  double acc = 0;
#pragma omp simd reduction(+ : acc)
  for (int64_t i = 0; i < n; ++i) acc += p[i];
  return acc;
}

static inline double row_squared_deviation(const float* p, int64_t n, double mean) {
  double acc = 0;
#pragma omp simd reduction(+ : acc)
  for (int64_t i = 0; i < n; ++i) {
    const double d = double(p[i]) - mean;
    acc += d * d;
  }
  return acc;
}

// y = (x - mean[c]) * scale[c] + shift[c] over every row.
static void normalize_rows(const BatchNormShape& s, const float* x, const float* mean, const float* scale,
                           const float* shift, float* y) {
  const int64_t rows = s.batch * s.channels, S = s.spatial;
#pragma omp parallel for schedule(static) if (s.numel() > kParallelThreshold)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t c = r % s.channels;
    const float m = mean[c], a = scale[c], b = shift[c];
    const float* xr = x + r * S;
    float* yr = y + r * S;
#pragma omp simd
    for (int64_t i = 0; i < S; ++i) yr[i] = (xr[i] - m) * a + b;
  }
}

// out[j * rows + i] = in[i * cols + j]: [N,C] <-> [C,N], so that BatchNorm1d
// (spatial 1, channels strided) runs on contiguous channel rows.
static void transpose(const float* in, int64_t rows, int64_t cols, float* out) {
#pragma omp parallel for schedule(static) if (rows * cols > kParallelThreshold)
  for (int64_t j = 0; j < cols; ++j)
    for (int64_t i = 0; i < rows; ++i) out[j * rows + i] = in[i * cols + j];
}

static bool needs_transpose(const BatchNormShape& s) { return s.spatial == 1 && s.batch > 1; }
static BatchNormShape transposed_shape(const BatchNormShape& s) { return {1, s.channels, s.batch}; }

void batchnorm_forward_train(const BatchNormShape& s, const float* x, const float* gamma, const float* beta, double eps,
                             double momentum, float* running_mean, float* running_var, float* y, float* saved_mean,
                             float* saved_inv_std, const SumAcross* across) {
  if (needs_transpose(s)) {
    std::vector<float> xt(s.numel()), yt(s.numel());
    transpose(x, s.batch, s.channels, xt.data());
    batchnorm_forward_train(transposed_shape(s), xt.data(), gamma, beta, eps, momentum, running_mean, running_var,
                            yt.data(), saved_mean, saved_inv_std, across);
    transpose(yt.data(), s.channels, s.batch, y);
    return;
  }
  const int64_t C = s.channels, S = s.spatial;
  const bool parallel = s.numel() > kParallelThreshold;
  // Two passes (sum, then squared deviations from the mean), each summed over
  // the processes when synchronized; the last slot of `sums` is the count.
  std::vector<double> sums(C + 1), squares(C);
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t c = 0; c < C; ++c) {
    double sum = 0;
    for (int64_t n = 0; n < s.batch; ++n) sum += row_sum(x + (n * C + c) * S, S);
    sums[c] = sum;
  }
  sums[C] = double(s.per_channel());
  if (across) (*across)(sums.data(), C + 1);
  const double count = sums[C];
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t c = 0; c < C; ++c) {
    const double mean = sums[c] / count;
    double sq = 0;
    for (int64_t n = 0; n < s.batch; ++n) sq += row_squared_deviation(x + (n * C + c) * S, S, mean);
    squares[c] = sq;
  }
  if (across) (*across)(squares.data(), C);
  std::vector<float> scale(C);
  for (int64_t c = 0; c < C; ++c) {
    const double mean = sums[c] / count;
    const double var = squares[c] / count;
    const double inv_std = 1.0 / std::sqrt(var + eps);
    saved_mean[c] = float(mean);
    saved_inv_std[c] = float(inv_std);
    scale[c] = float(gamma[c] * inv_std);
    if (running_mean) running_mean[c] = float((1.0 - momentum) * running_mean[c] + momentum * mean);
    if (running_var)
      running_var[c] = float((1.0 - momentum) * running_var[c] + momentum * unbiased(var, int64_t(count)));
  }
  normalize_rows(s, x, saved_mean, scale.data(), beta, y);
}

void batchnorm_forward_eval(const BatchNormShape& s, const float* x, const float* gamma, const float* beta,
                            const float* running_mean, const float* running_var, double eps, float* y) {
  std::vector<float> scale(s.channels);
  for (int64_t c = 0; c < s.channels; ++c) scale[c] = float(gamma[c] / std::sqrt(double(running_var[c]) + eps));
  normalize_rows(s, x, running_mean, scale.data(), beta, y);
}

// The two sums every backward needs, per channel: sum(dy), sum(dy * (x - mean)).
static void channel_gradient_sums(const BatchNormShape& s, const float* x, const float* dy, const float* mean,
                                  double* sum_dy, double* sum_dy_xmu) {
  const int64_t C = s.channels, S = s.spatial;
#pragma omp parallel for schedule(static) if (s.numel() > kParallelThreshold)
  for (int64_t c = 0; c < C; ++c) {
    double a = 0, b = 0;
    const double m = mean[c];
    for (int64_t n = 0; n < s.batch; ++n) {
      const float* xr = x + (n * C + c) * S;
      const float* gr = dy + (n * C + c) * S;
      double row_a = 0, row_b = 0;
#pragma omp simd reduction(+ : row_a, row_b)
      for (int64_t i = 0; i < S; ++i) {
        row_a += gr[i];
        row_b += double(gr[i]) * (double(xr[i]) - m);
      }
      a += row_a;
      b += row_b;
    }
    sum_dy[c] = a;
    sum_dy_xmu[c] = b;
  }
}

// dx = a[c] * dy + b[c] * (x - mean[c]) + k[c] over every row.
static void combine_rows(const BatchNormShape& s, const float* x, const float* dy, const float* mean, const float* a,
                         const float* b, const float* k, float* dx) {
  const int64_t rows = s.batch * s.channels, S = s.spatial;
#pragma omp parallel for schedule(static) if (s.numel() > kParallelThreshold)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t c = r % s.channels;
    const float ac = a[c], bc = b[c], kc = k[c], m = mean[c];
    const float* xr = x + r * S;
    const float* gr = dy + r * S;
    float* dr = dx + r * S;
#pragma omp simd
    for (int64_t i = 0; i < S; ++i) dr[i] = ac * gr[i] + bc * (xr[i] - m) + kc;
  }
}

// Shared by both backward kernels: `batch_statistics` says whether the mean
// and variance were computed from x (training) or were constants (eval).
static void batchnorm_backward(const BatchNormShape& s, const float* x, const float* dy, const float* gamma,
                               const float* mean, const float* inv_std, float* dx, float* dgamma, float* dbeta,
                               bool batch_statistics, const SumAcross* across) {
  if (needs_transpose(s)) {
    std::vector<float> xt(s.numel()), dyt(s.numel()), dxt(s.numel());
    transpose(x, s.batch, s.channels, xt.data());
    transpose(dy, s.batch, s.channels, dyt.data());
    batchnorm_backward(transposed_shape(s), xt.data(), dyt.data(), gamma, mean, inv_std, dxt.data(), dgamma, dbeta,
                       batch_statistics, across);
    transpose(dxt.data(), s.channels, s.batch, dx);
    return;
  }
  const int64_t C = s.channels;
  std::vector<double> sum_dy(C), sum_dy_xmu(C);
  channel_gradient_sums(s, x, dy, mean, sum_dy.data(), sum_dy_xmu.data());
  for (int64_t c = 0; c < C; ++c) {  // this process's share of the parameter gradients
    dbeta[c] = float(sum_dy[c]);
    dgamma[c] = float(sum_dy_xmu[c] * double(inv_std[c]));
  }
  double count = double(s.per_channel());
  if (across) {  // dx depends on the whole global batch: sum(dy), sum(dy * (x - mean)) and the count
    std::vector<double> all(2 * C + 1);
    std::copy(sum_dy.begin(), sum_dy.end(), all.begin());
    std::copy(sum_dy_xmu.begin(), sum_dy_xmu.end(), all.begin() + C);
    all[2 * C] = count;
    (*across)(all.data(), 2 * C + 1);
    std::copy(all.begin(), all.begin() + C, sum_dy.begin());
    std::copy(all.begin() + C, all.begin() + 2 * C, sum_dy_xmu.begin());
    count = all[2 * C];
  }
  std::vector<float> a(C), b(C, 0.0f), k(C, 0.0f);
  for (int64_t c = 0; c < C; ++c) {
    const double sigma_inv = inv_std[c];
    const double g = sum_dy_xmu[c] * sigma_inv;  // sum(dy * xhat)
    const double ac = double(gamma[c]) * sigma_inv;
    a[c] = float(ac);
    if (batch_statistics) {
      // dx = gamma/sigma * (dy - mean(dy) - xhat * mean(dy * xhat))
      b[c] = float(-ac * sigma_inv * g / count);
      k[c] = float(-ac * sum_dy[c] / count);
    }
  }
  combine_rows(s, x, dy, mean, a.data(), b.data(), k.data(), dx);
}

void batchnorm_backward_train(const BatchNormShape& s, const float* x, const float* dy, const float* gamma,
                              const float* mean, const float* inv_std, float* dx, float* dgamma, float* dbeta,
                              const SumAcross* across) {
  batchnorm_backward(s, x, dy, gamma, mean, inv_std, dx, dgamma, dbeta, true, across);
}

void batchnorm_backward_eval(const BatchNormShape& s, const float* x, const float* dy, const float* gamma,
                             const float* mean, const float* inv_std, float* dx, float* dgamma, float* dbeta) {
  batchnorm_backward(s, x, dy, gamma, mean, inv_std, dx, dgamma, dbeta, false, nullptr);
}

}  // namespace kernels
}  // namespace prunus
