// ops::batchnorm2d / ops::batchnorm1d: argument checks, dtype dispatch
// (float32 -> fast kernels, float64 -> reference kernels) and the autograd node.
#include <cmath>
#include <memory>
#include <string>

#include "prunus/autograd.h"
#include "prunus/kernels/batchnorm.h"
#include "prunus/ops.h"

namespace prunus {
namespace ops {
namespace {

using kernels::BatchNormShape;

// Set by a live SynchronizedBatchNorm; the training forward and its backward keep their own reference.
std::shared_ptr<const kernels::SumAcross>& synchronized_sum() {
  static std::shared_ptr<const kernels::SumAcross> sum;
  return sum;
}

// Checks one per-channel tensor (gamma, beta, running stats) against x.
void check_channel_tensor(const char* op, const char* what, const Tensor& t, const Tensor& x, int64_t channels) {
  PRUNUS_CHECK(t.defined(), op, ": ", what, " is undefined; expected a tensor of shape [", channels, "]");
  PRUNUS_CHECK(t.shape() == Shape{channels}, op, ": ", what, " has shape ", shape_str(t.shape()), ", expected [",
               channels, "] for input ", shape_str(x.shape()));
  PRUNUS_CHECK(t.dtype() == x.dtype(), op, ": ", what, " is ", dtype_name(t.dtype()), " but the input is ",
               dtype_name(x.dtype()));
  PRUNUS_CHECK(t.device() == Device::CPU, op, ": ", what,
               " is a cuda tensor; CUDA batch normalization is not supported yet (CPU only)");
}

template <typename T>
void forward(const BatchNormShape& s, bool training, bool fast, const Tensor& x, const Tensor& gamma,
             const Tensor& beta, Tensor& running_mean, Tensor& running_var, double momentum, double eps, Tensor& y,
             Tensor& saved_mean, Tensor& saved_inv_std, const kernels::SumAcross* across) {
  const T* xp = x.data<T>();
  const T* gp = gamma.data<T>();
  const T* bp = beta.data<T>();
  if (training) {
    T* rm = running_mean.defined() ? running_mean.data<T>() : nullptr;
    T* rv = running_var.defined() ? running_var.data<T>() : nullptr;
    if constexpr (sizeof(T) == sizeof(float)) {
      if (fast) {
        kernels::batchnorm_forward_train(s, xp, gp, bp, eps, momentum, rm, rv, y.data<T>(), saved_mean.data<T>(),
                                         saved_inv_std.data<T>(), across);
        return;
      }
    }
    kernels::batchnorm_forward_train_reference<T>(s, xp, gp, bp, eps, momentum, rm, rv, y.data<T>(),
                                                  saved_mean.data<T>(), saved_inv_std.data<T>());
    return;
  }
  // Eval: the backward treats the running statistics as constants, so keep a
  // copy of the ones used here in case the buffers change before backward.
  const T* rm = running_mean.data<T>();
  const T* rv = running_var.data<T>();
  for (int64_t c = 0; c < s.channels; ++c) {
    saved_mean.data<T>()[c] = rm[c];
    saved_inv_std.data<T>()[c] = T(1.0 / std::sqrt(double(rv[c]) + eps));
  }
  if constexpr (sizeof(T) == sizeof(float)) {
    if (fast) {
      kernels::batchnorm_forward_eval(s, xp, gp, bp, rm, rv, eps, y.data<T>());
      return;
    }
  }
  kernels::batchnorm_forward_eval_reference<T>(s, xp, gp, bp, rm, rv, eps, y.data<T>());
}

template <typename T>
void backward(const BatchNormShape& s, bool training, const Tensor& x, const Tensor& dy, const Tensor& gamma,
              const Tensor& mean, const Tensor& inv_std, Tensor& dx, Tensor& dgamma, Tensor& dbeta,
              const kernels::SumAcross* across) {
  const T *xp = x.data<T>(), *gp = dy.data<T>(), *gm = gamma.data<T>();
  const T *mp = mean.data<T>(), *ip = inv_std.data<T>();
  T *dxp = dx.data<T>(), *dgp = dgamma.data<T>(), *dbp = dbeta.data<T>();
  if constexpr (sizeof(T) == sizeof(float)) {
    if (training)
      kernels::batchnorm_backward_train(s, xp, gp, gm, mp, ip, dxp, dgp, dbp, across);
    else
      kernels::batchnorm_backward_eval(s, xp, gp, gm, mp, ip, dxp, dgp, dbp);
  } else {
    if (training)
      kernels::batchnorm_backward_train_reference<T>(s, xp, gp, gm, mp, ip, dxp, dgp, dbp);
    else
      kernels::batchnorm_backward_eval_reference<T>(s, xp, gp, gm, mp, ip, dxp, dgp, dbp);
  }
}

// `layout` names the expected input layout in messages: "[N,C,H,W]" or "[N,C]".
Tensor batchnorm(const char* op, int rank, const char* layout, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                 Tensor& running_mean, Tensor& running_var, bool training, double momentum, double eps) {
  PRUNUS_CHECK(x.defined(), op, ": the input is undefined");
  PRUNUS_CHECK(x.ndim() == rank, op, ": input has shape ", shape_str(x.shape()), ", expected ", layout);
  PRUNUS_CHECK(x.device() == Device::CPU, op, ": CUDA batch normalization is not supported yet (CPU only)");
  const int64_t channels = x.size(1);
  check_channel_tensor(op, "gamma (weight)", gamma, x, channels);
  check_channel_tensor(op, "beta (bias)", beta, x, channels);
  // Training may run without running statistics (nothing to update); eval needs them.
  if (!training || running_mean.defined() || running_var.defined()) {
    check_channel_tensor(op, "running_mean", running_mean, x, channels);
    check_channel_tensor(op, "running_var", running_var, x, channels);
  }
  PRUNUS_CHECK(std::isfinite(eps) && eps >= 0, op, ": eps is ", eps, ", expected a finite value >= 0");
  PRUNUS_CHECK(momentum >= 0 && momentum <= 1, op, ": momentum is ", momentum, ", expected a value in [0, 1]");

  BatchNormShape s;
  s.batch = x.size(0);
  s.channels = channels;
  s.spatial = rank == 4 ? x.size(2) * x.size(3) : 1;
  PRUNUS_CHECK(!training || s.per_channel() > 1, op, ": training needs more than one value per channel, got input ",
               shape_str(x.shape()), " (batch statistics of a single value are undefined)");

  Tensor y = Tensor::empty(x.shape(), x.dtype());
  Tensor saved_mean = Tensor::empty({channels}, x.dtype());
  Tensor saved_inv_std = Tensor::empty({channels}, x.dtype());
  const bool fast = x.dtype() == DType::F32;
  const std::shared_ptr<const kernels::SumAcross> across = training ? synchronized_sum() : nullptr;
  PRUNUS_CHECK(!across || fast, op, ": synchronized batch norm runs in float32 only, got ", dtype_name(x.dtype()));
  if (fast)
    forward<float>(s, training, true, x, gamma, beta, running_mean, running_var, momentum, eps, y, saved_mean,
                   saved_inv_std, across.get());
  else
    forward<double>(s, training, false, x, gamma, beta, running_mean, running_var, momentum, eps, y, saved_mean,
                    saved_inv_std, nullptr);

  // The closure holds the inputs and the saved statistics, never y (that would be a cycle).
  record_op(op, y, {x, gamma, beta},
            [s, training, x, gamma, saved_mean, saved_inv_std, across](const Tensor& dy) {
              Tensor dx = Tensor::empty(x.shape(), x.dtype());
              Tensor dgamma = Tensor::empty(gamma.shape(), x.dtype());
              Tensor dbeta = Tensor::empty(gamma.shape(), x.dtype());
              if (x.dtype() == DType::F32)
                backward<float>(s, training, x, dy, gamma, saved_mean, saved_inv_std, dx, dgamma, dbeta, across.get());
              else
                backward<double>(s, training, x, dy, gamma, saved_mean, saved_inv_std, dx, dgamma, dbeta, nullptr);
              return std::vector<Tensor>{dx, dgamma, dbeta};
            },
            {{"training", training ? 1.0 : 0.0}, {"momentum", momentum}, {"eps", eps}});
  return y;
}

}  // namespace

SynchronizedBatchNorm::SynchronizedBatchNorm(std::function<void(double* values, int64_t n)> sum_across) {
  PRUNUS_CHECK(!synchronized_sum(), "SynchronizedBatchNorm: one is alive already (they do not nest)");
  PRUNUS_CHECK(sum_across, "SynchronizedBatchNorm: the sum across processes is empty");
  synchronized_sum() = std::make_shared<const kernels::SumAcross>(std::move(sum_across));
}

SynchronizedBatchNorm::~SynchronizedBatchNorm() { synchronized_sum().reset(); }

Tensor batchnorm2d(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean, Tensor& running_var,
                   bool training, double momentum, double eps) {
  return batchnorm("batchnorm2d", 4, "[N,C,H,W]", x, gamma, beta, running_mean, running_var, training, momentum, eps);
}

Tensor batchnorm1d(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean, Tensor& running_var,
                   bool training, double momentum, double eps) {
  return batchnorm("batchnorm1d", 2, "[N,C]", x, gamma, beta, running_mean, running_var, training, momentum, eps);
}

}  // namespace ops
}  // namespace prunus
