// The CUDA side of prunus beyond raw allocation (device_memory.h): the one
// stream every kernel, copy and library call runs on, and a few questions
// about the device. Everything here throws prunus::Error when prunus was built
// without CUDA or no device is visible, except the *_available/_built queries.
#pragma once
#include <cstddef>
#include <string>

namespace prunus {
namespace cuda {

// Waits until all work queued on prunus' stream has finished; a failed
// kernel shows up here (asynchronous errors) as a prunus::Error.
void synchronize();

// "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs, 50 MB L2)".
std::string device_description();
int multiprocessor_count();
size_t l2_cache_bytes();

// The caching allocator keeps freed blocks for reuse by size class.
size_t cached_device_bytes();  // held in the cache, not in use
size_t live_device_bytes();    // handed out and not yet freed
void release_cached_device_memory();  // gives the cached blocks back to the driver

// When the environment variable PRUNUS_CUDA_SYNC_CHECK=1 is set, every kernel
// launch is followed by a synchronization, so an asynchronous fault is reported
// at the launch that caused it (slow; for debugging).
bool sync_check_enabled();

}  // namespace cuda
}  // namespace prunus
