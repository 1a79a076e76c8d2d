// The padded copies of the images a pixel chunk reads, kept in the thread's
// workspace; consecutive chunks of the same images reuse them. Internal to
// src/kernels.
#pragma once
#include <omp.h>

#include "conv_chunks.h"
#include "prunus/kernels/im2col.h"
#include "prunus/kernels/workspace.h"

namespace prunus {
namespace kernels {

inline int available_threads() { return omp_in_parallel() ? 1 : omp_get_max_threads(); }

// Pixels per chunk of a weight gradient: its C block (F x K) is read and
// written once per chunk, so chunks are long.
constexpr int kBackwardWeightColumns = 512;

// The images a chunk reads, zero-padded in the thread's workspace when the
// convolution pads; a chunk that continues the previous chunk's image reuses it.
class PaddedInput {
 public:
  PaddedInput(const Im2colGeometry& g, const float* x, bool channels_last = false)
      : g_(g), x_(x), channels_last_(channels_last) {}
  const float* images(const PixelChunk& chunk) {
    if (g_.padding == 0 && !channels_last_) return x_ + chunk.image_begin * g_.image_size();
    const int count = chunk.image_end - chunk.image_begin;
    float* padded = thread_workspace(WorkspaceSlot::ConvPadded, size_t(count) * g_.padded_image_size());
    if (chunk.image_begin != first_ || chunk.image_end != end_) {
      for (int n = 0; n < count; ++n) {
        const float* image = x_ + (chunk.image_begin + n) * g_.image_size();
        float* out = padded + n * g_.padded_image_size();
        channels_last_ ? pad_image_channels_last(g_, image, out) : pad_image(g_, image, out);
      }
      first_ = chunk.image_begin;
      end_ = chunk.image_end;
    }
    return padded;
  }

 private:
  const Im2colGeometry& g_;
  const float* x_;
  bool channels_last_;
  int first_ = -1, end_ = -1;
};

}  // namespace kernels
}  // namespace prunus
