#include "prunus/kernels/workspace.h"

#include <cstdlib>
#include <new>

namespace prunus {
namespace kernels {

AlignedBuffer::~AlignedBuffer() { std::free(data_); }

float* AlignedBuffer::ensure(size_t count) {
  if (count <= capacity_) return data_;
  // Grow geometrically so a slowly growing request does not reallocate each call.
  size_t grown = capacity_ + capacity_ / 2;
  if (grown < count) grown = count;
  const size_t bytes = ((grown * sizeof(float) + 63) / 64) * 64;
  void* fresh = std::aligned_alloc(64, bytes);
  if (fresh == nullptr) throw std::bad_alloc();
  std::free(data_);
  data_ = static_cast<float*>(fresh);
  capacity_ = bytes / sizeof(float);
  return data_;
}

float* thread_workspace(WorkspaceSlot slot, size_t count) {
  thread_local AlignedBuffer buffers[static_cast<int>(WorkspaceSlot::Count)];
  return buffers[static_cast<int>(slot)].ensure(count == 0 ? 1 : count);
}

}  // namespace kernels
}  // namespace prunus
