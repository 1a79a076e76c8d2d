// What every .cu file of prunus shares: error checks that throw
// prunus::Error naming the call, file and line; the one stream all work runs
// on; launch-size helpers; reusable scratch memory. nvcc only.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>
#ifdef PRUNUS_CUDNN
#include <cudnn.h>
#endif

#include <cstddef>
#include <cstdint>

#include "prunus/error.h"

namespace prunus {
namespace cuda {

[[noreturn]] void throw_cuda_error(const char* call, cudaError_t error, const char* file, int line);
[[noreturn]] void throw_cublas_error(const char* call, cublasStatus_t status, const char* file, int line);
#ifdef PRUNUS_CUDNN
[[noreturn]] void throw_cudnn_error(const char* call, cudnnStatus_t status, const char* file, int line);
#endif
// After a launch: the launch error, and with PRUNUS_CUDA_SYNC_CHECK=1 also any
// fault of the kernel itself (it synchronizes).
void check_launch(const char* kernel, const char* file, int line);

// prunus' stream: every kernel, copy, memset and library call is queued on it,
// so work is ordered and freed memory can be reused at once (single stream).
cudaStream_t stream();
cublasHandle_t cublas_handle();  // bound to stream()

// Scratch memory for the kernels' intermediate results (split-K partials,
// per-channel sums, library workspaces). Grows on demand, is never zeroed and
// is reused by the next call, which is safe because all work is on stream().
// A routine uses distinct slots for buffers it needs at the same time.
enum class ScratchSlot : int { GemmPartials = 0, ReductionPartials, ChannelCoefficients, LibraryWorkspace, Count };
void* scratch(ScratchSlot slot, size_t bytes);
template <typename T>
T* scratch_as(ScratchSlot slot, size_t count) {
  return static_cast<T*>(scratch(slot, count * sizeof(T)));
}

// Blocks for a grid-stride loop over `count` items: enough to fill the GPU a
// few times over, never more than the items need.
int grid_for(int64_t count, int threads_per_block);

// Host-side checks shared by the launchers.
void check_index_range(const char* op, const char* what, int64_t count);  // count < 2^31
void check_not_null(const char* op, const char* what, const void* pointer);
bool aligned16(const void* pointer);

}  // namespace cuda
}  // namespace prunus

#define CUDA_CHECK(call)                                                                 \
  do {                                                                                   \
    const cudaError_t prunus_cuda_status_ = (call);                                      \
    if (prunus_cuda_status_ != cudaSuccess)                                              \
      ::prunus::cuda::throw_cuda_error(#call, prunus_cuda_status_, __FILE__, __LINE__);  \
  } while (0)

#define CUBLAS_CHECK(call)                                                                 \
  do {                                                                                     \
    const cublasStatus_t prunus_cublas_status_ = (call);                                   \
    if (prunus_cublas_status_ != CUBLAS_STATUS_SUCCESS)                                    \
      ::prunus::cuda::throw_cublas_error(#call, prunus_cublas_status_, __FILE__, __LINE__); \
  } while (0)

#ifdef PRUNUS_CUDNN
#define CUDNN_CHECK(call)                                                                 \
  do {                                                                                    \
    const cudnnStatus_t prunus_cudnn_status_ = (call);                                    \
    if (prunus_cudnn_status_ != CUDNN_STATUS_SUCCESS)                                     \
      ::prunus::cuda::throw_cudnn_error(#call, prunus_cudnn_status_, __FILE__, __LINE__); \
  } while (0)
#endif

// Use right after kernel<<<...>>>(...): PRUNUS_CHECK_LAUNCH("conv2d_forward_naive");
#define PRUNUS_CHECK_LAUNCH(kernel_name) ::prunus::cuda::check_launch(kernel_name, __FILE__, __LINE__)
