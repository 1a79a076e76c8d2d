// Fast float32 convolutions on the sgemm microkernel (gemm_packed.h):
//   forward: the weight packed once per call times the im2col matrix, read in
//     place from the padded input for stride 1, packed into panels otherwise;
//   backward-data: for stride 1 a forward convolution of dy with the flipped
//     kernel, otherwise a GEMM into columns plus col2im;
//   backward-weight: dy times the transposed im2col matrix, gathered from
//     channels-last images.
// Work is cut into pixel chunks (conv_chunks.h) handed to the OpenMP threads
// dynamically (a busy machine then stalls less); every output element is
// computed by one thread with a fixed order of operations, whichever thread it
// is, so results do not depend on the thread count or on the schedule.
#include <omp.h>

#include <algorithm>
#include <cstring>

#include "conv_chunks.h"
#include "conv_forward_groups.h"
#include "padded_input.h"
#include "prunus/kernels/conv2d.h"
#include "prunus/kernels/gemm_packed.h"
#include "prunus/kernels/im2col.h"
#include "prunus/kernels/workspace.h"

namespace prunus {
namespace kernels {
namespace {

// The chunk's im2col columns as implicit half panels (gemm_packed.h): each 16
// columns must be at most two contiguous runs of the padded input, else the
// chunk is packed instead (returns false).
bool plan_implicit_halves(const Im2colGeometry& g, const PixelChunk& chunk, std::vector<gemm::ImplicitHalf>& halves,
                          bool& two_runs) {
  thread_local std::vector<int64_t> offsets;
  pixel_source_offsets(g, chunk.pixel_begin, chunk.pixel_count, false, offsets);
  const int columns = chunk.pixel_count, panels = gemm::panel_count(columns);
  halves.assign(size_t(2 * panels), gemm::ImplicitHalf{});
  two_runs = false;
  for (int h = 0; h < 2 * panels; ++h) {
    const int c0 = 16 * h, count = std::min(16, columns - c0);
    if (count <= 0) continue;
    gemm::ImplicitHalf& half = halves[size_t(h)];
    const int64_t* o = offsets.data() + c0;
    half.first = o[0];
    int lane = 1;
    while (lane < count && o[lane] == o[0] + lane) ++lane;
    half.split = lane == count ? 16 : lane;
    if (lane == count) continue;
    half.second = o[lane];
    for (int l = lane; l < count; ++l)
      if (o[l] != half.second + (l - lane)) return false;
    two_runs = true;
  }
  return true;
}

}  // namespace

void conv_forward_groups(const Conv2dShape& s, const float* x, const std::vector<ForwardGroup>& groups,
                         const float* bias, float* y) {
  const Im2colGeometry g = conv_input_geometry(s);
  const int F = s.out_channels;
  const int64_t per_image = g.out_pixels();
  int deepest = 1;
  for (const ForwardGroup& group : groups) deepest = std::max(deepest, int(group.rows.size()));

  const int threads = available_threads();
  const std::vector<PixelChunk> chunks =
      plan_pixel_chunks(s.batch, per_image, chunk_columns(deepest, 384 << 10, s.batch * per_image, threads));
  // Work items: a chunk times a range of one group's tiles. Few chunks (deep
  // layers on tiny images): threads also split the tiles.
  struct Item {
    int chunk, group, t0, t1;
  };
  std::vector<Item> items;
  for (int c = 0; c < int(chunks.size()); ++c)
    for (int q = 0; q < int(groups.size()); ++q) {
      const int tiles = gemm::tile_count(groups[size_t(q)].output_rows(F));
      const int parts = int(chunks.size()) < threads ? std::min(threads, tiles) : 1;
      for (int part = 0; part < parts; ++part) items.push_back({c, q, tiles * part / parts, tiles * (part + 1) / parts});
    }
  const int64_t item_count = int64_t(items.size());
  // Stride 1: the GEMM can read the padded input in place, no im2col copy.
  const bool implicit = forward_reads_input_in_place(s.stride);
#pragma omp parallel num_threads(threads) if (threads > 1 && item_count > 1)
  {
    PaddedInput input(g, x);
    std::vector<gemm::ImplicitHalf> halves;
    bool two_runs = false;
    int planned_chunk = -1;
#pragma omp for schedule(dynamic, 1)
    for (int64_t i = 0; i < item_count; ++i) {
      const Item& item = items[size_t(i)];
      const PixelChunk& chunk = chunks[size_t(item.chunk)];
      const ForwardGroup& group = groups[size_t(item.group)];
      const int M = group.output_rows(F), K = int(group.rows.size());
      const int f0 = gemm::tile_row_start(M, item.t0), f1 = gemm::tile_row_start(M, item.t1);
      const int columns = chunk.pixel_count;
      // Rows of y in order and one image: the GEMM writes y itself.
      const bool direct = group.filters.empty() && chunk.single_image();
      float* out;
      int64_t ldc;
      if (direct) {
        out = y + int64_t(chunk.image_begin) * F * per_image + chunk.pixel_begin;
        ldc = per_image;
      } else {
        out = thread_workspace(WorkspaceSlot::ConvOutput, size_t(M) * columns);
        ldc = columns;
      }
      const bool use_implicit = implicit && (planned_chunk == item.chunk || plan_implicit_halves(g, chunk, halves, two_runs));
      planned_chunk = use_implicit ? item.chunk : -1;
      if (use_implicit) {
        gemm::ImplicitProduct p;
        p.M = M;
        p.tile_begin = item.t0;
        p.tile_end = item.t1;
        p.N = columns;
        p.K = K;
        p.a_tiles = group.a_tiles;
        p.base = input.images(chunk);
        p.row_offsets = group.rows.data();
        p.halves = halves.data();
        p.two_runs = two_runs;
        p.C = out;
        p.ldc = ldc;
        gemm::multiply_implicit(p);
      } else {
        float* panels = thread_workspace(WorkspaceSlot::ConvColumns, size_t(gemm::padded_columns(columns)) * K);
        im2col_pack_panels(g, input.images(chunk), group.rows.data(), K, chunk.pixel_begin, columns, panels);
        gemm::multiply_fully_packed(M, item.t0, item.t1, columns, K, group.a_tiles, panels, 1.0f, 0.0f, out, ldc);
      }
      for (int r = f0; r < f1; ++r) {
        const int f = group.filters.empty() ? r : group.filters[size_t(r)];
        const float b = bias ? bias[f] : 0.0f;
        for (int n = 0; n < chunk.image_end - chunk.image_begin; ++n) {
          const float* source = out + r * ldc + (chunk.single_image() ? 0 : n * per_image);
          float* target = y + (int64_t(chunk.image_begin + n) * F + f) * per_image + chunk.pixel_begin;
          const int64_t count = chunk.single_image() ? columns : per_image;
          if (source != target) std::memcpy(target, source, sizeof(float) * count);
          if (bias)
            for (int64_t p = 0; p < count; ++p) target[p] += b;
        }
      }
    }
  }
}

namespace {
// y = conv(x) + bias with the weight already packed as GEMM A tiles (F rows, depth C*KH*KW).
void forward_with_packed_weight(const Conv2dShape& s, const float* x, const float* a_tiles, const float* bias,
                                float* y) {
  ForwardGroup all;
  all.rows = all_row_offsets(conv_input_geometry(s));
  all.a_tiles = a_tiles;
  conv_forward_groups(s, x, {all}, bias, y);
}
}  // namespace

void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y) {
  check_conv_shape("conv2d_forward", s);
  const int F = s.out_channels, K = s.in_channels * s.kernel_h * s.kernel_w;
  float* a_tiles = thread_workspace(WorkspaceSlot::ConvWeight, size_t(F) * K);
  gemm::pack_a_tiles(false, w, K, F, 0, gemm::tile_count(F), 0, K, a_tiles);
  forward_with_packed_weight(s, x, a_tiles, bias, y);
}

void conv2d_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx) {
  check_conv_shape("conv2d_backward_data", s);
  if (s.stride == 1 && s.kernel_h == s.kernel_w && s.padding <= s.kernel_h - 1 && s.in_channels >= 8) {
    // With stride 1 the input gradient is itself a convolution: dy padded by
    // k-1-p, with the kernel flipped and its channel axes swapped. That reuses
    // the forward path and needs no col2im.
    Conv2dShape t;
    t.batch = s.batch;
    t.in_channels = s.out_channels;
    t.in_height = s.out_height();
    t.in_width = s.out_width();
    t.out_channels = s.in_channels;
    t.kernel_h = s.kernel_h;
    t.kernel_w = s.kernel_w;
    t.padding = s.kernel_h - 1 - s.padding;
    const int C = s.in_channels, F = s.out_channels, KH = s.kernel_h, KW = s.kernel_w;
    float* flipped = thread_workspace(WorkspaceSlot::ConvGather, size_t(F) * C * KH * KW);
    for (int c = 0; c < C; ++c)
      for (int f = 0; f < F; ++f)
        for (int i = 0; i < KH; ++i)
          for (int j = 0; j < KW; ++j)
            flipped[((int64_t(c) * F + f) * KH + i) * KW + j] = w[((int64_t(f) * C + c) * KH + KH - 1 - i) * KW + KW - 1 - j];
    const int depth = F * KH * KW;
    float* a_tiles = thread_workspace(WorkspaceSlot::ConvWeight, size_t(C) * depth);
    gemm::pack_a_tiles(false, flipped, depth, C, 0, gemm::tile_count(C), 0, depth, a_tiles);
    forward_with_packed_weight(t, dy, a_tiles, nullptr, dx);
    return;
  }
  const Im2colGeometry g = conv_input_geometry(s);
  const Im2colGeometry g_dy = plain_geometry(s.out_channels, s.out_height(), s.out_width());
  const int F = s.out_channels, K = s.in_channels * s.kernel_h * s.kernel_w;
  const int64_t per_image = g.out_pixels();
  const std::vector<int64_t> rows = all_row_offsets(g), dy_rows = all_row_offsets(g_dy);
  // A = W^T: K rows (one per im2col row), depth F.
  const int tiles = gemm::tile_count(K);
  float* a_tiles = thread_workspace(WorkspaceSlot::ConvWeight, size_t(F) * K);
  gemm::pack_a_tiles(true, w, K, K, 0, tiles, 0, F, a_tiles);
  // 1x1 stride-1 unpadded: the GEMM's C is dx itself, no col2im.
  const bool direct = s.kernel_h == 1 && s.kernel_w == 1 && s.stride == 1 && s.padding == 0;

  const int threads = available_threads();
  // The cut of an image into pieces sets the order of col2im's sums, so it
  // must not depend on the thread count; threads share out whole images.
  const std::vector<PixelChunk> chunks =
      plan_pixel_chunks(s.batch, per_image, chunk_columns(K, 512 << 10, s.batch * per_image, 1));
  // A thread owns whole images: col2im of neighbouring pixels overlaps.
  std::vector<size_t> owner_begin;
  for (size_t c = 0; c < chunks.size(); ++c)
    if (c == 0 || chunks[c].image_begin != chunks[c - 1].image_begin) owner_begin.push_back(c);
  owner_begin.push_back(chunks.size());
  const int64_t owners = int64_t(owner_begin.size()) - 1;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (threads > 1 && owners > 1)
  for (int64_t owner = 0; owner < owners; ++owner) {
    const PixelChunk& head = chunks[owner_begin[owner]];
    const int images = head.image_end - head.image_begin;
    float* padded = nullptr;
    if (!direct) {
      padded = s.padding > 0 ? thread_workspace(WorkspaceSlot::ConvPadded, size_t(images) * g.padded_image_size())
                             : dx + head.image_begin * g.image_size();
      std::fill(padded, padded + images * g.padded_image_size(), 0.0f);
    }
    for (size_t c = owner_begin[owner]; c < owner_begin[owner + 1]; ++c) {
      const PixelChunk& chunk = chunks[c];
      const int columns = chunk.pixel_count;
      float* panels = thread_workspace(WorkspaceSlot::ConvGather, size_t(gemm::padded_columns(columns)) * F);
      im2col_pack_panels(g_dy, dy + int64_t(chunk.image_begin) * F * per_image, dy_rows.data(), F,
                         chunk.pixel_begin, columns, panels);
      if (direct && chunk.single_image()) {
        float* out = dx + int64_t(chunk.image_begin) * K * per_image + chunk.pixel_begin;
        gemm::multiply_fully_packed(K, 0, tiles, columns, F, a_tiles, panels, 1.0f, 0.0f, out, per_image);
        continue;
      }
      float* columns_grad = thread_workspace(WorkspaceSlot::ConvColumns, size_t(K) * columns);
      gemm::multiply_fully_packed(K, 0, tiles, columns, F, a_tiles, panels, 1.0f, 0.0f, columns_grad, columns);
      if (direct) {
        // Several whole 1x1 images: scatter the columns back per image.
        for (int n = 0; n < images; ++n)
          for (int k = 0; k < K; ++k)
            std::memcpy(dx + (int64_t(chunk.image_begin + n) * K + k) * per_image,
                        columns_grad + int64_t(k) * columns + n * per_image, sizeof(float) * per_image);
        continue;
      }
      col2im_rows_add(g, columns_grad, columns, rows.data(), K, chunk.pixel_begin, columns, padded);
    }
    if (!direct && s.padding > 0)
      for (int n = 0; n < images; ++n)
        unpad_image(g, padded + n * g.padded_image_size(), dx + (head.image_begin + n) * g.image_size());
  }
}

void conv2d_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw) {
  check_conv_shape("conv2d_backward_weight", s);
  // dw[F, K] = dy[F, pixels] * im2col[K, pixels]^T, summed over pixel chunks:
  // dy packed as A tiles, the transposed im2col as B panels. The im2col rows
  // are taken in (i, j, c) order from channels-last images, so a panel row
  // is a run of channels; dw_ikc holds that order until the final reorder.
  const Im2colGeometry g = conv_input_geometry(s);
  const int F = s.out_channels, C = s.in_channels, KH = s.kernel_h, KW = s.kernel_w, K = C * KH * KW;
  const int64_t per_image = g.out_pixels();
  const std::vector<int64_t> rows = channels_last_row_offsets(g);
  const int tiles = gemm::tile_count(F), panels = gemm::panel_count(K);
  float* dw_ikc = thread_workspace(WorkspaceSlot::ConvOutput, size_t(F) * K);
  // The chunks fix the order of the sums, so they must not depend on the thread count.
  const std::vector<PixelChunk> chunks = plan_pixel_chunks(s.batch, per_image, kBackwardWeightColumns, 16);
  // dw is cut into blocks of one A tile x one B panel, numbered panel-major;
  // each thread takes a contiguous range of blocks and sums them over all
  // pixels. A block's sums do not depend on which thread does them.
  const int blocks = panels * tiles;
  const int threads = std::min(available_threads(), blocks);
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    const int t = omp_get_thread_num(), count = omp_get_num_threads();
    const int b0 = int(int64_t(blocks) * t / count), b1 = int(int64_t(blocks) * (t + 1) / count);
    const int q_first = b0 / tiles, q_last = (b1 - 1) / tiles;  // panels this thread touches
    const int r0 = q_first * gemm::kPanelWidth, r1 = std::min(K, (q_last + 1) * gemm::kPanelWidth);
    PaddedInput input(g, x, true);
    for (size_t c = 0; c < chunks.size() && b0 < b1; ++c) {
      const PixelChunk& chunk = chunks[c];
      const int columns = chunk.pixel_count, depth = transposed_panel_depth(columns);
      float* b_panels = thread_workspace(WorkspaceSlot::ConvColumns, size_t(depth) * gemm::padded_columns(r1 - r0));
      im2col_transposed_panels(g, input.images(chunk), rows.data() + r0, r1 - r0, chunk.pixel_begin, columns,
                               b_panels);
      // dy of the chunk as A tiles (pixels along k), one image at a time.
      float* a_tiles = thread_workspace(WorkspaceSlot::ConvWeight, size_t(F) * columns);
      for (int n = chunk.image_begin, k = 0; n < chunk.image_end; ++n) {
        const int64_t begin = n == chunk.image_begin ? chunk.pixel_begin : 0;
        const int count = int(std::min<int64_t>(per_image - begin, columns - k));
        gemm::pack_a_tiles_into(false, dy + int64_t(n) * F * per_image + begin, int(per_image), F, 0, tiles, 0, count,
                                a_tiles, columns, k);
        k += count;
      }
      for (int kb = 0; kb < gemm::depth_block_count(columns); ++kb) {
        const int k0 = gemm::depth_block_begin(columns, kb), k1 = gemm::depth_block_begin(columns, kb + 1);
        for (int q = q_first; q <= q_last; ++q) {
          const int t_begin = q == q_first ? b0 % tiles : 0, t_end = q == q_last ? (b1 - 1) % tiles + 1 : tiles;
          gemm::PackedProduct p;
          p.M = F;
          p.tile_begin = t_begin;
          p.tile_end = t_end;
          p.a_tiles = a_tiles + int64_t(gemm::tile_row_start(F, t_begin)) * columns;
          p.a_k_stride = columns;
          p.b_panels = b_panels + int64_t(q - q_first) * depth * gemm::kPanelWidth;
          p.b_k_stride = depth;
          p.n_count = std::min(gemm::kPanelWidth, K - q * gemm::kPanelWidth);
          p.k_offset = k0;
          p.k_count = k1 - k0;
          p.first_k_block = c == 0 && kb == 0;
          p.C = dw_ikc + q * gemm::kPanelWidth;
          p.ldc = K;
          gemm::multiply_packed(p);
        }
      }
    }
  }
  for (int f = 0; f < F; ++f)
    for (int i = 0; i < KH; ++i)
      for (int j = 0; j < KW; ++j)
        for (int c = 0; c < C; ++c)
          dw[((int64_t(f) * C + c) * KH + i) * KW + j] = dw_ikc[int64_t(f) * K + (i * KW + j) * C + c];
}

}  // namespace kernels
}  // namespace prunus
