// Error reporting, prunus' stream and cuBLAS handle, scratch memory and
// device queries (common.cuh, include/prunus/cuda/runtime.h).
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sstream>
#include <string>

#include "common.cuh"
#include "prunus/cuda/runtime.h"
#include "prunus/device_memory.h"

namespace prunus {
namespace cuda {

// Defined in device_memory.cu: throws unless a device is visible.
void require_device(const char* what);

void throw_cuda_error(const char* call, cudaError_t error, const char* file, int line) {
  cudaGetLastError();  // clear a non-sticky error so that later calls can still work
  PRUNUS_FAIL("CUDA error in `", call, "` at ", file, ":", line, ": ", cudaGetErrorString(error), " (",
              cudaGetErrorName(error), ")");
}

void throw_cublas_error(const char* call, cublasStatus_t status, const char* file, int line) {
  PRUNUS_FAIL("cuBLAS error in `", call, "` at ", file, ":", line, ": ", cublasGetStatusString(status), " (status ",
              int(status), ")");
}

#ifdef PRUNUS_CUDNN
void throw_cudnn_error(const char* call, cudnnStatus_t status, const char* file, int line) {
  PRUNUS_FAIL("cuDNN error in `", call, "` at ", file, ":", line, ": ", cudnnGetErrorString(status), " (status ",
              int(status), ")");
}
#endif

bool sync_check_enabled() {
  static const bool enabled = [] {
    const char* value = std::getenv("PRUNUS_CUDA_SYNC_CHECK");
    return value != nullptr && std::strcmp(value, "0") != 0 && value[0] != '\0';
  }();
  return enabled;
}

void check_launch(const char* kernel, const char* file, int line) {
  const cudaError_t launch = cudaGetLastError();
  if (launch != cudaSuccess) throw_cuda_error(kernel, launch, file, line);
  if (!sync_check_enabled()) return;
  const cudaError_t run = cudaStreamSynchronize(stream());
  if (run != cudaSuccess) throw_cuda_error(kernel, run, file, line);
}

cudaStream_t stream() {
  // Created once and never destroyed: tensors freed during static destruction
  // at exit may still refer to it. A blocking stream, so that work someone
  // queues on the legacy default stream stays ordered with ours.
  static cudaStream_t the_stream = [] {
    require_device("creating the CUDA stream");
    cudaStream_t s = nullptr;
    CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamDefault));
    return s;
  }();
  return the_stream;
}

cublasHandle_t cublas_handle() {
  static cublasHandle_t handle = [] {
    cublasHandle_t h = nullptr;
    CUBLAS_CHECK(cublasCreate(&h));
    CUBLAS_CHECK(cublasSetStream(h, stream()));
    // Plain float32 (no TF32 tensor cores), as our own kernels and the CPU reference.
    CUBLAS_CHECK(cublasSetMathMode(h, CUBLAS_DEFAULT_MATH));
    return h;
  }();
  return handle;
}

namespace {

struct ScratchBuffer {
  void* data = nullptr;
  size_t capacity = 0;
};

std::mutex& scratch_mutex() {
  static std::mutex m;
  return m;
}

ScratchBuffer* scratch_buffers() {
  static ScratchBuffer buffers[static_cast<int>(ScratchSlot::Count)];
  return buffers;
}

int device_attribute(cudaDeviceAttr attribute) {
  require_device("querying the GPU");
  int value = 0;
  CUDA_CHECK(cudaDeviceGetAttribute(&value, attribute, 0));
  return value;
}

}  // namespace

void* scratch(ScratchSlot slot, size_t bytes) {
  std::lock_guard<std::mutex> lock(scratch_mutex());
  ScratchBuffer& buffer = scratch_buffers()[static_cast<int>(slot)];
  if (buffer.capacity >= bytes && buffer.data != nullptr) return buffer.data;
  constexpr size_t kGranule = size_t(1) << 20;
  const size_t capacity = (bytes + kGranule - 1) / kGranule * kGranule + kGranule;
  if (buffer.data != nullptr) {
    CUDA_CHECK(cudaStreamSynchronize(stream()));  // the old buffer may still be in use by queued work
    CUDA_CHECK(cudaFree(buffer.data));
    buffer.data = nullptr;
    buffer.capacity = 0;
  }
  void* data = nullptr;
  cudaError_t status = cudaMalloc(&data, capacity);
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    release_cached_device_memory();
    status = cudaMalloc(&data, capacity);
  }
  if (status != cudaSuccess) {
    cudaGetLastError();
    PRUNUS_FAIL("CUDA scratch memory: cannot allocate ", capacity, " bytes for slot ", static_cast<int>(slot), ": ",
                cudaGetErrorString(status));
  }
  buffer.data = data;
  buffer.capacity = capacity;
  return data;
}

int grid_for(int64_t count, int threads_per_block) {
  if (count <= 0) return 1;
  const int64_t needed = (count + threads_per_block - 1) / threads_per_block;
  const int64_t cap = int64_t(multiprocessor_count()) * 16;
  return static_cast<int>(needed < cap ? needed : cap);
}

void check_index_range(const char* op, const char* what, int64_t count) {
  PRUNUS_CHECK(count >= 0 && count <= int64_t(2147483647), op, ": ", what, " has ", count,
               " elements; the CUDA kernels index with 32-bit ints, so at most 2147483647 are supported");
}

void check_not_null(const char* op, const char* what, const void* pointer) {
  PRUNUS_CHECK(pointer != nullptr, op, ": ", what, " is a null device pointer");
}

bool aligned16(const void* pointer) { return reinterpret_cast<uintptr_t>(pointer) % 16 == 0; }

void synchronize() {
  require_device("cuda::synchronize");
  CUDA_CHECK(cudaStreamSynchronize(stream()));
}

int multiprocessor_count() {
  static const int count = device_attribute(cudaDevAttrMultiProcessorCount);
  return count;
}

size_t l2_cache_bytes() {
  static const size_t bytes = static_cast<size_t>(device_attribute(cudaDevAttrL2CacheSize));
  return bytes;
}

std::string device_description() {
  require_device("cuda::device_description");
  cudaDeviceProp properties;
  std::memset(&properties, 0, sizeof(properties));
  CUDA_CHECK(cudaGetDeviceProperties(&properties, 0));
  std::ostringstream out;
  out << properties.name << " (sm_" << properties.major << properties.minor << ", "
      << properties.multiProcessorCount << " SMs, " << (properties.l2CacheSize >> 20) << " MB L2, "
      << (properties.totalGlobalMem >> 30) << " GiB)";
  return out.str();
}

}  // namespace cuda
}  // namespace prunus
