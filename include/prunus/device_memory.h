// The few device-memory entry points the core needs. Built with CUDA they are
// implemented in cuda/ (caching allocator, checked copies); built without,
// src/core/no_cuda.cpp implements them by refusing with a clear error.
#pragma once
#include <cstddef>

namespace prunus {

bool cuda_built();      // compiled with CUDA support
bool cuda_available();  // built with CUDA and a device is visible
void* device_alloc(size_t bytes);  // zero-filled
void device_free(void* pointer, size_t bytes);
void copy_host_to_device(void* device_dst, const void* host_src, size_t bytes);
void copy_device_to_host(void* host_dst, const void* device_src, size_t bytes);
void copy_device_to_device(void* device_dst, const void* device_src, size_t bytes);

}  // namespace prunus
