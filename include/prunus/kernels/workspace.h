// Scratch memory for the fast kernels: 64-byte aligned float buffers that
// grow on demand and are reused across calls, one set per thread, so the hot
// paths never allocate once they have warmed up.
#pragma once
#include <cstddef>

namespace prunus {
namespace kernels {

class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  ~AlignedBuffer();
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  // At least `count` floats; old contents are not kept when it grows.
  float* ensure(size_t count);
  size_t capacity() const { return capacity_; }

 private:
  float* data_ = nullptr;
  size_t capacity_ = 0;
};

// The calling thread's scratch buffers. Slots are independent: a routine
// picks distinct slots for buffers it needs at the same time.
enum class WorkspaceSlot : int {
  GemmA = 0, GemmB, ConvWeight, ConvColumns, ConvPadded, ConvOutput, ConvGather, Count
};
float* thread_workspace(WorkspaceSlot slot, size_t count);

}  // namespace kernels
}  // namespace prunus
