// ops::linear: y = x W^T + b as one matrix multiply (float32 -> kernels::sgemm,
// float64 -> kernels::gemm_reference), plus its autograd node.
#include <climits>
#include <type_traits>

#include "prunus/autograd.h"
#include "prunus/kernels/gemm.h"
#include "prunus/ops.h"

namespace prunus {
namespace ops {
namespace {

// C[M,N] = op(A)[M,K] * op(B)[K,N], row-major, C overwritten.
template <typename T>
void matmul(bool transpose_a, bool transpose_b, int M, int N, int K, const T* A, int lda, const T* B, int ldb,
            T* C, int ldc) {
  if constexpr (std::is_same_v<T, float>)
    kernels::sgemm(transpose_a, transpose_b, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, ldc);
  else
    kernels::gemm_reference<T>(transpose_a, transpose_b, M, N, K, T(1), A, lda, B, ldb, T(0), C, ldc);
}

struct LinearSizes {
  int batch, in_features, out_features;
};

template <typename T>
void linear_forward(const LinearSizes& d, const T* x, const T* w, const T* bias, T* y) {
  // y[N,out] = x[N,in] * w[out,in]^T
  matmul<T>(false, true, d.batch, d.out_features, d.in_features, x, d.in_features, w, d.in_features, y,
            d.out_features);
  if (!bias) return;
  for (int n = 0; n < d.batch; ++n)
    for (int o = 0; o < d.out_features; ++o) y[int64_t(n) * d.out_features + o] += bias[o];
}

template <typename T>
std::vector<Tensor> linear_backward(const LinearSizes& d, const Tensor& x, const Tensor& weight,
                                    const Tensor& bias, const Tensor& grad_output) {
  const T* dy = grad_output.data<T>();
  Tensor dx, dw, db;
  if (x.requires_grad()) {  // dx[N,in] = dy[N,out] * w[out,in]
    dx = Tensor::empty(x.shape(), x.dtype());
    matmul<T>(false, false, d.batch, d.in_features, d.out_features, dy, d.out_features, weight.data<T>(),
              d.in_features, dx.data<T>(), d.in_features);
  }
  if (weight.requires_grad()) {  // dw[out,in] = dy[N,out]^T * x[N,in]
    dw = Tensor::empty(weight.shape(), weight.dtype());
    matmul<T>(true, false, d.out_features, d.in_features, d.batch, dy, d.out_features, x.data<T>(),
              d.in_features, dw.data<T>(), d.in_features);
  }
  std::vector<Tensor> grads{dx, dw};
  if (bias.defined()) {
    if (bias.requires_grad()) {  // db[out] = column sums of dy
      db = Tensor::empty(bias.shape(), bias.dtype());
      T* out = db.data<T>();
      for (int o = 0; o < d.out_features; ++o) {
        double acc = 0;
        for (int n = 0; n < d.batch; ++n) acc += dy[int64_t(n) * d.out_features + o];
        out[o] = static_cast<T>(acc);
      }
    }
    grads.push_back(db);
  }
  return grads;
}

void check_arguments(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  PRUNUS_CHECK(x.defined(), "linear: the input x is an undefined tensor");
  PRUNUS_CHECK(weight.defined(), "linear: the weight is an undefined tensor");
  PRUNUS_CHECK(x.ndim() == 2, "linear: input x must be 2-d [N,in], got ", shape_str(x.shape()),
               " (flatten it first)");
  PRUNUS_CHECK(weight.ndim() == 2, "linear: weight must be 2-d [out,in], got ", shape_str(weight.shape()));
  check_dtype_device("linear (x, weight)", x, weight);
  PRUNUS_CHECK(x.device() == Device::CPU, "linear: ", device_name(x.device()),
               " tensors are not supported yet; move x and weight to the cpu");
  PRUNUS_CHECK(x.size(1) == weight.size(1), "linear: input x ", shape_str(x.shape()), " has ", x.size(1),
               " features but weight ", shape_str(weight.shape()), " expects ", weight.size(1));
  // The gemm kernels index with int.
  PRUNUS_CHECK(x.size(0) > 0 && x.size(1) > 0 && weight.size(0) > 0, "linear: empty input ",
               shape_str(x.shape()), " or weight ", shape_str(weight.shape()));
  PRUNUS_CHECK(x.numel() <= INT_MAX && weight.numel() <= INT_MAX && x.size(0) * weight.size(0) <= INT_MAX,
               "linear: input ", shape_str(x.shape()), " with weight ", shape_str(weight.shape()),
               " is too large (each matrix must have fewer than 2^31 elements)");
  if (bias.defined()) {
    PRUNUS_CHECK(bias.ndim() == 1 && bias.size(0) == weight.size(0), "linear: bias must be [",
                 weight.size(0), "] to match weight ", shape_str(weight.shape()), ", got ",
                 shape_str(bias.shape()));
    check_dtype_device("linear (x, bias)", x, bias);
  }
}

}  // namespace

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  check_arguments(x, weight, bias);
  const LinearSizes d{static_cast<int>(x.size(0)), static_cast<int>(x.size(1)),
                      static_cast<int>(weight.size(0))};
  Tensor y = Tensor::empty({d.batch, d.out_features}, x.dtype());
  if (x.dtype() == DType::F32)
    linear_forward(d, x.f32(), weight.f32(), bias.defined() ? bias.f32() : nullptr, y.f32());
  else
    linear_forward(d, x.f64(), weight.f64(), bias.defined() ? bias.f64() : nullptr, y.f64());

  std::vector<Tensor> inputs{x, weight};
  if (bias.defined()) inputs.push_back(bias);
  const DType dtype = x.dtype();
  record_op("linear", y, std::move(inputs), [d, x, weight, bias, dtype](const Tensor& grad_output) {
    const Tensor g = grad_output.dtype() == dtype ? grad_output : grad_output.to(dtype);
    return dtype == DType::F32 ? linear_backward<float>(d, x, weight, bias, g)
                               : linear_backward<double>(d, x, weight, bias, g);
  });
  return y;
}

}  // namespace ops
}  // namespace prunus
