// im2col / col2im for the fast convolutions, on zero-padded image copies so
// the inner copies need no bounds checks.
//
// The im2col matrix of a batch has one row per (channel c, kernel row i,
// kernel column j) and one column per output pixel p = n*OH*OW + oh*OW + ow.
// A row is named by its offset into one padded image: c*Hp*Wp + i*Wp + j;
// column p of that row then reads
//   padded[n * padded_image_size + offset + oh*stride*Wp + ow*stride].
// Callers choose which rows they want (all of them for a dense convolution,
// one kernel position for a stripe-sparse one).
#pragma once
#include <cstdint>
#include <vector>

#include "prunus/kernels/conv2d.h"

namespace prunus {
namespace kernels {

struct Im2colGeometry {
  int channels = 1, height = 1, width = 1;
  int kernel_h = 1, kernel_w = 1, stride = 1, padding = 0;
  int out_height = 1, out_width = 1;
  int padded_height = 1, padded_width = 1;  // height + 2*padding, width + 2*padding
  int64_t padded_image_size() const { return int64_t(channels) * padded_height * padded_width; }
  int64_t image_size() const { return int64_t(channels) * height * width; }
  int64_t out_pixels() const { return int64_t(out_height) * out_width; }
  // Offset of row (c, i, j) into a padded image.
  int64_t row_offset(int c, int i, int j) const { return (int64_t(c) * padded_height + i) * padded_width + j; }
};

// The input side of a convolution.
Im2colGeometry conv_input_geometry(const Conv2dShape& s);
// A [channels, height, width] array read as 1x1 "patches" (pack dy for a GEMM).
Im2colGeometry plain_geometry(int channels, int height, int width);

// Offsets of all channels*kernel_h*kernel_w rows in (c, i, j) order.
std::vector<int64_t> all_row_offsets(const Im2colGeometry& g);
// Offsets of all rows in (i, j, c) order into channels-last padded images
// (row (c, i, j) at (i * Wp + j) * channels + c).
std::vector<int64_t> channels_last_row_offsets(const Im2colGeometry& g);

// out[t] = offset of column pixel_begin + t's first tap in the padded images:
// n * padded_image_size + oh*stride*Wp + ow*stride, times channels when channels_last.
void pixel_source_offsets(const Im2colGeometry& g, int64_t pixel_begin, int pixel_count, bool channels_last,
                          std::vector<int64_t>& out);

// padded = image with a zero border of g.padding (channels x Hp x Wp).
void pad_image(const Im2colGeometry& g, const float* image, float* padded);
// The same, channels last: padded[(h * Wp + w) * channels + c].
void pad_image_channels_last(const Im2colGeometry& g, const float* image, float* padded);
// image = the interior of padded.
void unpad_image(const Im2colGeometry& g, const float* padded, float* image);

// Rows `row_offsets[0..rows)` and columns [pixel_begin, pixel_begin + pixel_count)
// of the im2col matrix of the padded images starting at `padded`, written as
// GEMM B panels (gemm_packed.h) with k_stride = rows.
void im2col_pack_panels(const Im2colGeometry& g, const float* padded, const int64_t* row_offsets, int rows,
                        int64_t pixel_begin, int pixel_count, float* panels);

// The same block written row-major: dst[r * ld + column]; columns
// [pixel_count, ld) of every row are set to zero.
void im2col_rows(const Im2colGeometry& g, const float* padded, const int64_t* row_offsets, int rows,
                 int64_t pixel_begin, int pixel_count, float* dst, int64_t ld);

// The transpose of that block as GEMM B panels (gemm_packed.h), read from
// channels-last padded images with channels_last_row_offsets: the GEMM's k
// runs over the pixel_count columns and its n over the `rows` rows, so
// panel q holds rows [32q, 32q + 32) and element (column p, row l) sits at
// p * kPanelWidth + l; k_stride is pixel_count rounded up to 16 (the extra
// columns are zero). For the weight gradient dw = dy * im2col^T: channels
// last, a row of a panel is a contiguous run of channels, no transposing.
void im2col_transposed_panels(const Im2colGeometry& g, const float* padded, const int64_t* row_offsets, int rows,
                              int64_t pixel_begin, int pixel_count, float* panels);
inline int transposed_panel_depth(int pixel_count) { return (pixel_count + 15) / 16 * 16; }

// The adjoint of im2col_rows: padded[...] += src[r * ld + column].
void col2im_rows_add(const Im2colGeometry& g, const float* src, int64_t ld, const int64_t* row_offsets, int rows,
                     int64_t pixel_begin, int pixel_count, float* padded);

}  // namespace kernels
}  // namespace prunus
