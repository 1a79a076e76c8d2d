// One SGD step on the GPU (kernels.h), element by element in the order
// optim::SGD uses on the CPU (src/optim/sgd.cpp; the element is in sgd_steps.cuh).
#include <cmath>

#include "common.cuh"
#include "prunus/cuda/kernels.h"
#include "sgd_steps.cuh"

namespace prunus {
namespace cuda {
namespace {

constexpr int kThreads = 256;

__global__ void sgd_step_kernel(SgdStep s) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < s.count; i += int64_t(gridDim.x) * blockDim.x)
    sgd_step_element(s, i);
}

}  // namespace

void sgd_step(const SgdStep& s) {
  const char* op = "cuda::sgd_step";
  PRUNUS_CHECK(s.count >= 0, op, ": negative element count ", s.count);
  if (s.count == 0) return;
  check_not_null(op, "param", s.param);
  check_not_null(op, "grad", s.grad);
  PRUNUS_CHECK(std::isfinite(s.step_size) && std::isfinite(s.momentum) && std::isfinite(s.weight_decay) &&
                   s.momentum >= 0 && s.weight_decay >= 0,
               op, ": step size ", s.step_size, ", momentum ", s.momentum, ", weight decay ", s.weight_decay,
               "; expected finite values, momentum and weight decay >= 0");
  PRUNUS_CHECK(!s.nesterov || s.momentum_buffer != nullptr, op, ": Nesterov needs a momentum buffer");
  sgd_step_kernel<<<grid_for(s.count, kThreads), kThreads, 0, stream()>>>(s);
  PRUNUS_CHECK_LAUNCH("sgd_step_kernel");
}

}  // namespace cuda
}  // namespace prunus
