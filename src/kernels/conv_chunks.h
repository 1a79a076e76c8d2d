// How the fast convolutions cut the output pixels of a batch into blocks of
// GEMM columns: small images are grouped, large ones are cut into pieces, so
// a block's packed operands fit the caches. Internal to src/kernels.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "prunus/error.h"
#include "prunus/kernels/conv2d.h"
#include "prunus/kernels/gemm_packed.h"

namespace prunus {
namespace kernels {

struct PixelChunk {
  int image_begin = 0, image_end = 0;  // images [image_begin, image_end)
  int64_t pixel_begin = 0;             // first column, counted from image_begin's first pixel
  int pixel_count = 0;
  bool single_image() const { return image_end - image_begin == 1; }
};

// Chunks of about target_columns columns (multiples of align, except an
// image's last piece): images smaller than that are grouped whole, larger
// ones are cut into pieces, listed in order; a piece never mixes images. The
// plan depends only on the arguments, never on the thread count.
inline std::vector<PixelChunk> plan_pixel_chunks(int batch, int64_t per_image, int64_t target_columns,
                                                 int align = gemm::kPanelWidth) {
  std::vector<PixelChunk> chunks;
  target_columns = std::max<int64_t>(target_columns, align);
  if (per_image >= target_columns) {
    const int64_t pieces = (per_image + target_columns - 1) / target_columns;
    for (int n = 0; n < batch; ++n) {
      int64_t begin = 0;
      for (int64_t k = 1; k <= pieces; ++k) {
        int64_t end = k == pieces ? per_image : (per_image * k / pieces) / align * align;
        if (end <= begin) continue;
        chunks.push_back({n, n + 1, begin, int(end - begin)});
        begin = end;
      }
    }
  } else {
    const int group = int(std::max<int64_t>(1, target_columns / per_image));
    for (int n = 0; n < batch; n += group) {
      const int last = std::min(batch, n + group);
      chunks.push_back({n, last, 0, int((last - n) * per_image)});
    }
  }
  return chunks;
}

// Columns per chunk so that `rows` packed rows of them take about `bytes`,
// then fewer if that leaves some of the threads without work.
inline int64_t chunk_columns(int rows, int64_t bytes, int64_t total_columns, int threads, int64_t minimum = 128) {
  int64_t columns = std::max<int64_t>(minimum, bytes / (4 * int64_t(std::max(rows, 1))));
  const int64_t fair = (total_columns + 2 * threads - 1) / (2 * threads);
  if (threads > 1) columns = std::min(columns, std::max<int64_t>(fair, gemm::kPanelWidth));
  return (columns + gemm::kPanelWidth - 1) / gemm::kPanelWidth * gemm::kPanelWidth;
}

inline void check_conv_shape(const char* op, const Conv2dShape& s) {
  PRUNUS_CHECK(s.batch > 0 && s.in_channels > 0 && s.in_height > 0 && s.in_width > 0 && s.out_channels > 0 &&
                   s.kernel_h > 0 && s.kernel_w > 0 && s.stride > 0 && s.padding >= 0,
               op, ": every size must be positive and padding non-negative, got batch=", s.batch,
               " in_channels=", s.in_channels, " in=", s.in_height, "x", s.in_width, " out_channels=", s.out_channels,
               " kernel=", s.kernel_h, "x", s.kernel_w, " stride=", s.stride, " padding=", s.padding);
  PRUNUS_CHECK(s.in_height + 2 * s.padding >= s.kernel_h && s.in_width + 2 * s.padding >= s.kernel_w, op,
               ": the ", s.kernel_h, "x", s.kernel_w, " kernel does not fit the ", s.in_height, "x", s.in_width,
               " input with padding ", s.padding);
}

}  // namespace kernels
}  // namespace prunus
