// Scalar-valued ops: cross_entropy, sum, mean. Reductions run in double over
// fixed-size chunks combined in order, so results do not depend on the
// thread count.
#include <algorithm>
#include <cmath>
#include <vector>

#include "prunus/autograd.h"
#include "prunus/ops.h"

namespace prunus {
namespace ops {
namespace {

constexpr int64_t kParallelThreshold = 32768;  // elements; below this threads cost more than they save

void check_cpu(const char* op, const Tensor& t) {
  PRUNUS_CHECK(t.defined(), op, ": the input is undefined");
  PRUNUS_CHECK(t.device() == Device::CPU, op, ": CUDA tensors are not supported yet (CPU only), got a ",
               device_name(t.device()), " tensor of shape ", shape_str(t.shape()));
}

// Sum of all elements: chunk partial sums (parallel), then the partials in order.
template <typename T>
double deterministic_sum(const T* x, int64_t n) {
  constexpr int64_t kChunk = 16384;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<double> partial(chunks);
#pragma omp parallel for schedule(static) if (n > kParallelThreshold)
  for (int64_t k = 0; k < chunks; ++k) {
    const int64_t begin = k * kChunk, end = std::min(n, begin + kChunk);
    double acc = 0;
#pragma omp simd reduction(+ : acc)
    for (int64_t i = begin; i < end; ++i) acc += x[i];
    partial[k] = acc;
  }
  double total = 0;
  for (double p : partial) total += p;
  return total;
}

double sum_of(const Tensor& x) {
  return x.dtype() == DType::F32 ? deterministic_sum(x.f32(), x.numel()) : deterministic_sum(x.f64(), x.numel());
}

// Per row of logits [N,K]: the loss -log softmax[label] (stable: the row max
// is subtracted before exp) and the softmax itself, kept for the backward.
template <typename T>
void softmax_cross_entropy_rows(const T* logits, const std::vector<int>& labels, int64_t N, int64_t K, T* probabilities,
                                double* row_loss) {
#pragma omp parallel for schedule(static) if (N * K > kParallelThreshold)
  for (int64_t n = 0; n < N; ++n) {
    const T* z = logits + n * K;
    T* p = probabilities + n * K;
    double max = z[0];
    for (int64_t k = 1; k < K; ++k) max = z[k] > max ? double(z[k]) : max;
    double total = 0;
    for (int64_t k = 0; k < K; ++k) total += std::exp(double(z[k]) - max);
    const double log_total = std::log(total);
    for (int64_t k = 0; k < K; ++k) p[k] = T(std::exp(double(z[k]) - max - log_total));
    row_loss[n] = max + log_total - double(z[labels[n]]);
  }
}

// d logits = scale * (softmax - one_hot(label)).
template <typename T>
void cross_entropy_backward_rows(const T* probabilities, const std::vector<int>& labels, int64_t N, int64_t K,
                                 double scale, T* grad) {
#pragma omp parallel for schedule(static) if (N * K > kParallelThreshold)
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t k = 0; k < K; ++k) grad[n * K + k] = T(scale * double(probabilities[n * K + k]));
    grad[n * K + labels[n]] -= T(scale);
  }
}

}  // namespace

Tensor cross_entropy(const Tensor& logits, const std::vector<int>& labels) {
  check_cpu("cross_entropy", logits);
  PRUNUS_CHECK(logits.ndim() == 2, "cross_entropy: logits have shape ", shape_str(logits.shape()),
               ", expected [N, K] (batch, classes)");
  const int64_t N = logits.size(0), K = logits.size(1);
  PRUNUS_CHECK(N > 0 && K > 0, "cross_entropy: logits ", shape_str(logits.shape()), " are empty");
  PRUNUS_CHECK(static_cast<int64_t>(labels.size()) == N, "cross_entropy: ", labels.size(),
               " labels for logits of shape ", shape_str(logits.shape()), "; expected one label per row (", N, ")");
  for (int64_t n = 0; n < N; ++n)
    PRUNUS_CHECK(labels[n] >= 0 && labels[n] < K, "cross_entropy: label ", labels[n], " at batch index ", n,
                 " is outside [0, ", K, ") for logits of shape ", shape_str(logits.shape()));

  Tensor probabilities = Tensor::empty({N, K}, logits.dtype());
  std::vector<double> row_loss(N);
  if (logits.dtype() == DType::F32)
    softmax_cross_entropy_rows(logits.f32(), labels, N, K, probabilities.f32(), row_loss.data());
  else
    softmax_cross_entropy_rows(logits.f64(), labels, N, K, probabilities.f64(), row_loss.data());
  double total = 0;
  for (double l : row_loss) total += l;
  const double loss = total / double(N);
  if (!std::isfinite(loss)) {
    int64_t first = 0;
    while (first < N && std::isfinite(row_loss[first])) ++first;
    PRUNUS_FAIL("cross_entropy: loss is ", std::isnan(loss) ? "NaN" : "infinite", " (first at batch index ", first,
                " of ", N,
                "): the logits hold NaN or infinite values, usually a diverging run; "
                "try a lower learning rate");
  }

  Tensor y = Tensor::full({1}, loss, logits.dtype());
  record_op("cross_entropy", y, {logits}, [probabilities, labels, N, K](const Tensor& g) {
    Tensor grad = Tensor::empty({N, K}, probabilities.dtype());
    const double scale = g.item() / double(N);
    if (grad.dtype() == DType::F32)
      cross_entropy_backward_rows(probabilities.f32(), labels, N, K, scale, grad.f32());
    else
      cross_entropy_backward_rows(probabilities.f64(), labels, N, K, scale, grad.f64());
    return std::vector<Tensor>{grad};
  });
  return y;
}

Tensor sum(const Tensor& x) {
  check_cpu("sum", x);
  Tensor y = Tensor::full({1}, sum_of(x), x.dtype());
  record_op("sum", y, {x}, [shape = x.shape(), dtype = x.dtype()](const Tensor& g) {
    return std::vector<Tensor>{Tensor::full(shape, g.item(), dtype)};
  });
  return y;
}

Tensor mean(const Tensor& x) {
  check_cpu("mean", x);
  const int64_t n = x.numel();
  PRUNUS_CHECK(n > 0, "mean: the input of shape ", shape_str(x.shape()), " is empty; its mean is undefined");
  Tensor y = Tensor::full({1}, sum_of(x) / double(n), x.dtype());
  record_op("mean", y, {x}, [shape = x.shape(), dtype = x.dtype(), n](const Tensor& g) {
    return std::vector<Tensor>{Tensor::full(shape, g.item() / double(n), dtype)};
  });
  return y;
}

}  // namespace ops
}  // namespace prunus
