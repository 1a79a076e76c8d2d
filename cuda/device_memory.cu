// include/prunus/device_memory.h for CUDA builds: a caching allocator and
// checked copies, all on prunus' single stream.
//
// The allocator keeps freed blocks in free lists by size class and hands them
// out again without cudaMalloc/cudaFree (both synchronize the whole device).
// Reusing a block at once is safe because every kernel, copy and memset runs
// on one stream: the new owner's work is queued after the old owner's.
#include <mutex>
#include <unordered_map>
#include <vector>

#include "common.cuh"
#include "prunus/cuda/runtime.h"
#include "prunus/device_memory.h"

namespace prunus {
namespace cuda {

void require_device(const char* what) {
  PRUNUS_CHECK(cuda_available(), what,
               ": no CUDA device is visible (prunus was built with CUDA, but the driver reports no usable GPU); "
               "use cpu tensors, or check nvidia-smi and CUDA_VISIBLE_DEVICES");
}

namespace {

struct CachingAllocator {
  std::mutex mutex;
  std::unordered_map<size_t, std::vector<void*>> free_blocks;  // size class -> blocks
  size_t cached_bytes = 0;
  size_t live_bytes = 0;
};

// Never destroyed: tensors may be freed during static destruction at exit.
CachingAllocator& allocator() {
  static CachingAllocator* instance = new CachingAllocator;
  return *instance;
}

// Powers of two from 256 bytes to 1 MiB, then whole MiB: at most 2x waste for
// small tensors, at most 1 MiB for large ones.
size_t size_class(size_t bytes) {
  constexpr size_t kSmallest = 256, kMiB = size_t(1) << 20;
  if (bytes <= kSmallest) return kSmallest;
  if (bytes <= kMiB) {
    size_t size = kSmallest;
    while (size < bytes) size *= 2;
    return size;
  }
  return (bytes + kMiB - 1) / kMiB * kMiB;
}

void* take_cached_block(size_t size) {
  CachingAllocator& a = allocator();
  std::lock_guard<std::mutex> lock(a.mutex);
  auto it = a.free_blocks.find(size);
  if (it == a.free_blocks.end() || it->second.empty()) return nullptr;
  void* block = it->second.back();
  it->second.pop_back();
  a.cached_bytes -= size;
  a.live_bytes += size;
  return block;
}

void* allocate_new_block(size_t size, size_t requested) {
  void* block = nullptr;
  cudaError_t status = cudaMalloc(&block, size);
  if (status == cudaErrorMemoryAllocation) {  // give the cache back to the driver and try once more
    cudaGetLastError();
    release_cached_device_memory();
    status = cudaMalloc(&block, size);
  }
  if (status != cudaSuccess) {
    cudaGetLastError();
    size_t free_bytes = 0, total_bytes = 0;
    cudaMemGetInfo(&free_bytes, &total_bytes);
    cudaGetLastError();
    PRUNUS_FAIL("device_alloc: cannot allocate ", requested, " bytes (", size, " with size-class rounding) on the GPU: ",
                cudaGetErrorString(status), "; the GPU has ", free_bytes >> 20, " MiB free of ", total_bytes >> 20,
                " MiB; try a smaller batch size");
  }
  CachingAllocator& a = allocator();
  std::lock_guard<std::mutex> lock(a.mutex);
  a.live_bytes += size;
  return block;
}

}  // namespace

size_t cached_device_bytes() {
  CachingAllocator& a = allocator();
  std::lock_guard<std::mutex> lock(a.mutex);
  return a.cached_bytes;
}

size_t live_device_bytes() {
  CachingAllocator& a = allocator();
  std::lock_guard<std::mutex> lock(a.mutex);
  return a.live_bytes;
}

void release_cached_device_memory() {
  CachingAllocator& a = allocator();
  std::vector<void*> blocks;
  {
    std::lock_guard<std::mutex> lock(a.mutex);
    for (auto& entry : a.free_blocks) blocks.insert(blocks.end(), entry.second.begin(), entry.second.end());
    a.free_blocks.clear();
    a.cached_bytes = 0;
  }
  for (void* block : blocks) CUDA_CHECK(cudaFree(block));  // cudaFree waits for queued work first
}

}  // namespace cuda

bool cuda_built() { return true; }

bool cuda_available() {
  static const bool available = [] {
    int count = 0;
    const cudaError_t status = cudaGetDeviceCount(&count);
    if (status != cudaSuccess) {  // no driver, no device, driver too old: not an error for a CPU run
      cudaGetLastError();
      return false;
    }
    return count > 0;
  }();
  return available;
}

void* device_alloc(size_t bytes) {
  cuda::require_device("device_alloc");
  const size_t size = cuda::size_class(bytes);
  void* block = cuda::take_cached_block(size);
  if (block == nullptr) block = cuda::allocate_new_block(size, bytes);
  // Zero-filled, as host storage is; queued before any use of the block.
  CUDA_CHECK(cudaMemsetAsync(block, 0, bytes, cuda::stream()));
  return block;
}

void device_free(void* pointer, size_t bytes) {
  if (pointer == nullptr) return;
  // Called from destructors: must not throw. A failed push_back only leaks the block.
  try {
    cuda::CachingAllocator& a = cuda::allocator();
    const size_t size = cuda::size_class(bytes);
    std::lock_guard<std::mutex> lock(a.mutex);
    a.free_blocks[size].push_back(pointer);
    a.cached_bytes += size;
    a.live_bytes -= size;
  } catch (...) {
  }
}

void copy_host_to_device(void* device_dst, const void* host_src, size_t bytes) {
  if (bytes == 0) return;
  cuda::require_device("copy_host_to_device");
  cuda::check_not_null("copy_host_to_device", "the destination", device_dst);
  PRUNUS_CHECK(host_src != nullptr, "copy_host_to_device: the host source is a null pointer");
  CUDA_CHECK(cudaMemcpyAsync(device_dst, host_src, bytes, cudaMemcpyHostToDevice, cuda::stream()));
  // The host buffer may be freed or changed as soon as we return.
  CUDA_CHECK(cudaStreamSynchronize(cuda::stream()));
}

void copy_device_to_host(void* host_dst, const void* device_src, size_t bytes) {
  if (bytes == 0) return;
  cuda::require_device("copy_device_to_host");
  cuda::check_not_null("copy_device_to_host", "the source", device_src);
  PRUNUS_CHECK(host_dst != nullptr, "copy_device_to_host: the host destination is a null pointer");
  CUDA_CHECK(cudaMemcpyAsync(host_dst, device_src, bytes, cudaMemcpyDeviceToHost, cuda::stream()));
  CUDA_CHECK(cudaStreamSynchronize(cuda::stream()));  // the caller reads host_dst next
}

void copy_device_to_device(void* device_dst, const void* device_src, size_t bytes) {
  if (bytes == 0) return;
  cuda::require_device("copy_device_to_device");
  cuda::check_not_null("copy_device_to_device", "the destination", device_dst);
  cuda::check_not_null("copy_device_to_device", "the source", device_src);
  CUDA_CHECK(cudaMemcpyAsync(device_dst, device_src, bytes, cudaMemcpyDeviceToDevice, cuda::stream()));
}

}  // namespace prunus
