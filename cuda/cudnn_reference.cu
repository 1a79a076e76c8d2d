// cuDNN as the reference backend (include/prunus/cuda/cudnn_reference.h).
// Built only with PRUNUS_CUDNN; otherwise every entry point throws.
#include "common.cuh"
#include "prunus/cuda/cudnn_reference.h"

#ifdef PRUNUS_CUDNN
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <tuple>
#endif

namespace prunus {
namespace cuda {
namespace cudnn {

#ifdef PRUNUS_CUDNN

namespace {

cudnnHandle_t handle() {
  static cudnnHandle_t h = [] {
    cudnnHandle_t created = nullptr;
    CUDNN_CHECK(cudnnCreate(&created));
    CUDNN_CHECK(cudnnSetStream(created, stream()));
    return created;
  }();
  return h;
}

struct TensorDescriptor {
  cudnnTensorDescriptor_t d = nullptr;
  TensorDescriptor() { CUDNN_CHECK(cudnnCreateTensorDescriptor(&d)); }
  ~TensorDescriptor() { cudnnDestroyTensorDescriptor(d); }
  TensorDescriptor(const TensorDescriptor&) = delete;
  TensorDescriptor& operator=(const TensorDescriptor&) = delete;
  void set(int n, int c, int h, int w) {
    CUDNN_CHECK(cudnnSetTensor4dDescriptor(d, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, c, h, w));
  }
};

const char* forward_algorithm_name(cudnnConvolutionFwdAlgo_t a) {
  switch (a) {
    case CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM: return "IMPLICIT_GEMM";
    case CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM: return "IMPLICIT_PRECOMP_GEMM";
    case CUDNN_CONVOLUTION_FWD_ALGO_GEMM: return "GEMM";
    case CUDNN_CONVOLUTION_FWD_ALGO_DIRECT: return "DIRECT";
    case CUDNN_CONVOLUTION_FWD_ALGO_FFT: return "FFT";
    case CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING: return "FFT_TILING";
    case CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD: return "WINOGRAD";
    case CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED: return "WINOGRAD_NONFUSED";
    default: return "other";
  }
}

const char* backward_data_algorithm_name(cudnnConvolutionBwdDataAlgo_t a) {
  switch (a) {
    case CUDNN_CONVOLUTION_BWD_DATA_ALGO_0: return "ALGO_0";
    case CUDNN_CONVOLUTION_BWD_DATA_ALGO_1: return "ALGO_1";
    case CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT: return "FFT";
    case CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING: return "FFT_TILING";
    case CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD: return "WINOGRAD";
    case CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED: return "WINOGRAD_NONFUSED";
    default: return "other";
  }
}

const char* backward_weight_algorithm_name(cudnnConvolutionBwdFilterAlgo_t a) {
  switch (a) {
    case CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0: return "ALGO_0";
    case CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1: return "ALGO_1";
    case CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT: return "FFT";
    case CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3: return "ALGO_3";
    case CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD_NONFUSED: return "WINOGRAD_NONFUSED";
    case CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING: return "FFT_TILING";
    default: return "other";
  }
}

// Descriptors and the fastest algorithms for one convolution shape.
struct ConvPlan {
  TensorDescriptor x, y, bias;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  cudnnConvolutionFwdAlgo_t forward_algorithm{};
  cudnnConvolutionBwdDataAlgo_t backward_data_algorithm{};
  cudnnConvolutionBwdFilterAlgo_t backward_weight_algorithm{};
  size_t forward_workspace = 0, backward_data_workspace = 0, backward_weight_workspace = 0;
  ~ConvPlan() {
    if (w != nullptr) cudnnDestroyFilterDescriptor(w);
    if (conv != nullptr) cudnnDestroyConvolutionDescriptor(conv);
  }
};

// cudnnFind* results come sorted by time; the first that ran is the fastest.
template <typename Perf>
const Perf& fastest(const Perf* results, int count, const char* what) {
  for (int i = 0; i < count; ++i)
    if (results[i].status == CUDNN_STATUS_SUCCESS) return results[i];
  PRUNUS_FAIL("cuDNN found no working ", what, " algorithm for this convolution shape");
}

std::unique_ptr<ConvPlan> make_plan(const kernels::Conv2dShape& s) {
  auto plan = std::make_unique<ConvPlan>();
  plan->x.set(s.batch, s.in_channels, s.in_height, s.in_width);
  plan->y.set(s.batch, s.out_channels, s.out_height(), s.out_width());
  plan->bias.set(1, s.out_channels, 1, 1);
  CUDNN_CHECK(cudnnCreateFilterDescriptor(&plan->w));
  CUDNN_CHECK(cudnnSetFilter4dDescriptor(plan->w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, s.out_channels,
                                         s.in_channels, s.kernel_h, s.kernel_w));
  CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&plan->conv));
  CUDNN_CHECK(cudnnSetConvolution2dDescriptor(plan->conv, s.padding, s.padding, s.stride, s.stride, 1, 1,
                                              CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  // Plain float32 FMA, no TF32 tensor cores: the same arithmetic as ours.
  CUDNN_CHECK(cudnnSetConvolutionMathType(plan->conv, CUDNN_FMA_MATH));
  int n = 0, c = 0, h = 0, w = 0;
  CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(plan->conv, plan->x.d, plan->w, &n, &c, &h, &w));
  PRUNUS_CHECK(n == s.batch && c == s.out_channels && h == s.out_height() && w == s.out_width(),
               "cuDNN computes a ", n, "x", c, "x", h, "x", w, " output, prunus expects ", s.batch, "x", s.out_channels,
               "x", s.out_height(), "x", s.out_width());

  int found = 0;
  cudnnConvolutionFwdAlgoPerf_t forward[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
  CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithm(handle(), plan->x.d, plan->w, plan->conv, plan->y.d,
                                                   CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &found, forward));
  const auto& f = fastest(forward, found, "forward");
  plan->forward_algorithm = f.algo;
  plan->forward_workspace = f.memory;

  cudnnConvolutionBwdDataAlgoPerf_t data[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
  CUDNN_CHECK(cudnnFindConvolutionBackwardDataAlgorithm(handle(), plan->w, plan->y.d, plan->conv, plan->x.d,
                                                        CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &found, data));
  const auto& d = fastest(data, found, "backward-data");
  plan->backward_data_algorithm = d.algo;
  plan->backward_data_workspace = d.memory;

  cudnnConvolutionBwdFilterAlgoPerf_t filter[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
  CUDNN_CHECK(cudnnFindConvolutionBackwardFilterAlgorithm(handle(), plan->x.d, plan->y.d, plan->conv, plan->w,
                                                          CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &found, filter));
  const auto& b = fastest(filter, found, "backward-weight");
  plan->backward_weight_algorithm = b.algo;
  plan->backward_weight_workspace = b.memory;
  return plan;
}

const ConvPlan& plan_for(const kernels::Conv2dShape& s) {
  static std::mutex mutex;
  static auto* plans = new std::map<std::tuple<int, int, int, int, int, int, int, int, int>, std::unique_ptr<ConvPlan>>;
  const auto key = std::make_tuple(s.batch, s.in_channels, s.in_height, s.in_width, s.out_channels, s.kernel_h,
                                   s.kernel_w, s.stride, s.padding);
  std::lock_guard<std::mutex> lock(mutex);
  auto it = plans->find(key);
  if (it == plans->end()) it = plans->emplace(key, make_plan(s)).first;
  return *it->second;
}

void* workspace(size_t bytes) { return scratch(ScratchSlot::LibraryWorkspace, bytes); }

// x viewed as [batch, channels, spatial, 1], and the per-channel parameter descriptor.
struct BatchNormDescriptors {
  TensorDescriptor x, parameters;
  explicit BatchNormDescriptors(const kernels::BatchNormShape& s) {
    PRUNUS_CHECK(s.batch >= 1 && s.channels >= 1 && s.spatial >= 1 && s.numel() <= int64_t(2147483647),
                 "cudnn::batchnorm: shape [", s.batch, ", ", s.channels, ", ", s.spatial, "] is empty or too large");
    x.set(int(s.batch), int(s.channels), int(s.spatial), 1);
    CUDNN_CHECK(cudnnDeriveBNTensorDescriptor(parameters.d, x.d, CUDNN_BATCHNORM_SPATIAL));
  }
};

const float kOne = 1.0f, kZero = 0.0f;

}  // namespace

bool built() { return true; }

std::string version() {
  const size_t v = cudnnGetVersion();
  std::ostringstream out;
  out << v / 10000 << "." << (v % 10000) / 100 << "." << v % 100;
  return out.str();
}

void conv2d_forward(const kernels::Conv2dShape& s, const float* x, const float* w, const float* bias, float* y) {
  const ConvPlan& p = plan_for(s);
  CUDNN_CHECK(cudnnConvolutionForward(handle(), &kOne, p.x.d, x, p.w, w, p.conv, p.forward_algorithm,
                                      workspace(p.forward_workspace), p.forward_workspace, &kZero, p.y.d, y));
  if (bias != nullptr) CUDNN_CHECK(cudnnAddTensor(handle(), &kOne, p.bias.d, bias, &kOne, p.y.d, y));
}

void conv2d_backward_data(const kernels::Conv2dShape& s, const float* dy, const float* w, float* dx) {
  const ConvPlan& p = plan_for(s);
  CUDNN_CHECK(cudnnConvolutionBackwardData(handle(), &kOne, p.w, w, p.y.d, dy, p.conv, p.backward_data_algorithm,
                                           workspace(p.backward_data_workspace), p.backward_data_workspace, &kZero,
                                           p.x.d, dx));
}

void conv2d_backward_weight(const kernels::Conv2dShape& s, const float* x, const float* dy, float* dw) {
  const ConvPlan& p = plan_for(s);
  CUDNN_CHECK(cudnnConvolutionBackwardFilter(handle(), &kOne, p.x.d, x, p.y.d, dy, p.conv,
                                             p.backward_weight_algorithm, workspace(p.backward_weight_workspace),
                                             p.backward_weight_workspace, &kZero, p.w, dw));
}

std::string conv2d_algorithms(const kernels::Conv2dShape& s) {
  const ConvPlan& p = plan_for(s);
  std::ostringstream out;
  out << "fwd " << forward_algorithm_name(p.forward_algorithm) << ", bwd-data "
      << backward_data_algorithm_name(p.backward_data_algorithm) << ", bwd-weight "
      << backward_weight_algorithm_name(p.backward_weight_algorithm);
  return out.str();
}

void batchnorm_forward_train(const kernels::BatchNormShape& s, const float* x, const float* gamma, const float* beta,
                             double eps, double momentum, float* running_mean, float* running_var, float* y,
                             float* saved_mean, float* saved_inv_std) {
  PRUNUS_CHECK(eps >= CUDNN_BN_MIN_EPSILON, "cudnn::batchnorm_forward_train: eps ", eps, " is below cuDNN's minimum ",
               CUDNN_BN_MIN_EPSILON);
  BatchNormDescriptors d(s);
  CUDNN_CHECK(cudnnBatchNormalizationForwardTraining(handle(), CUDNN_BATCHNORM_SPATIAL, &kOne, &kZero, d.x.d, x,
                                                     d.x.d, y, d.parameters.d, gamma, beta, momentum, running_mean,
                                                     running_var, eps, saved_mean, saved_inv_std));
}

void batchnorm_forward_eval(const kernels::BatchNormShape& s, const float* x, const float* gamma, const float* beta,
                            const float* running_mean, const float* running_var, double eps, float* y) {
  PRUNUS_CHECK(eps >= CUDNN_BN_MIN_EPSILON, "cudnn::batchnorm_forward_eval: eps ", eps, " is below cuDNN's minimum ",
               CUDNN_BN_MIN_EPSILON);
  BatchNormDescriptors d(s);
  CUDNN_CHECK(cudnnBatchNormalizationForwardInference(handle(), CUDNN_BATCHNORM_SPATIAL, &kOne, &kZero, d.x.d, x,
                                                      d.x.d, y, d.parameters.d, gamma, beta, running_mean,
                                                      running_var, eps));
}

void batchnorm_backward_train(const kernels::BatchNormShape& s, const float* x, const float* dy, const float* gamma,
                              const float* mean, const float* inv_std, double eps, float* dx, float* dgamma,
                              float* dbeta) {
  BatchNormDescriptors d(s);
  CUDNN_CHECK(cudnnBatchNormalizationBackward(handle(), CUDNN_BATCHNORM_SPATIAL, &kOne, &kZero, &kOne, &kZero, d.x.d,
                                              x, d.x.d, dy, d.x.d, dx, d.parameters.d, gamma, dgamma, dbeta, eps,
                                              mean, inv_std));
}

#else  // !PRUNUS_CUDNN

namespace {
[[noreturn]] void not_built(const char* what) {
  PRUNUS_FAIL("cudnn::", what, ": this prunus was built without the cuDNN reference backend; rebuild with "
              "`make CUDA=1 CUDNN=1`");
}
}  // namespace

bool built() { return false; }
std::string version() { return "not built"; }
void conv2d_forward(const kernels::Conv2dShape&, const float*, const float*, const float*, float*) {
  not_built("conv2d_forward");
}
void conv2d_backward_data(const kernels::Conv2dShape&, const float*, const float*, float*) {
  not_built("conv2d_backward_data");
}
void conv2d_backward_weight(const kernels::Conv2dShape&, const float*, const float*, float*) {
  not_built("conv2d_backward_weight");
}
std::string conv2d_algorithms(const kernels::Conv2dShape&) { not_built("conv2d_algorithms"); }
void batchnorm_forward_train(const kernels::BatchNormShape&, const float*, const float*, const float*, double, double,
                             float*, float*, float*, float*, float*) {
  not_built("batchnorm_forward_train");
}
void batchnorm_forward_eval(const kernels::BatchNormShape&, const float*, const float*, const float*, const float*,
                            const float*, double, float*) {
  not_built("batchnorm_forward_eval");
}
void batchnorm_backward_train(const kernels::BatchNormShape&, const float*, const float*, const float*, const float*,
                              const float*, double, float*, float*, float*) {
  not_built("batchnorm_backward_train");
}

#endif

}  // namespace cudnn
}  // namespace cuda
}  // namespace prunus
