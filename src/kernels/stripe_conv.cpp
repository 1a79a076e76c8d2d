// Stripe-sparse convolution (stripe_conv.h) on the same GEMM machinery as the
// dense fast convolution: the forward pass as GEMMs over groups of filters
// with similar kept positions (conv_forward_groups.h), the backward passes as
// one GEMM per kept kernel position over only the filters that keep it.
#include "prunus/kernels/stripe_conv.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>

#include "conv_chunks.h"
#include "conv_forward_groups.h"
#include "padded_input.h"
#include "prunus/error.h"
#include "prunus/kernels/gemm_packed.h"
#include "prunus/kernels/im2col.h"
#include "prunus/kernels/workspace.h"

namespace prunus {
namespace kernels {

int64_t StripeConvLayout::compact_weight_size() const { return kept_stripes() * in_channels; }

int64_t StripeConvLayout::block_offset(int position) const {
  int64_t offset = 0;
  for (int p = 0; p < position; ++p) offset += int64_t(positions[size_t(p)].filters.size()) * in_channels;
  return offset;
}

int64_t StripeConvLayout::kept_stripes() const {
  int64_t stripes = 0;
  for (const StripePosition& p : positions) stripes += int64_t(p.filters.size());
  return stripes;
}

Conv2dShape StripeConvLayout::shape(int batch, int height, int width) const {
  Conv2dShape s;
  s.batch = batch;
  s.in_channels = in_channels;
  s.in_height = height;
  s.in_width = width;
  s.out_channels = out_channels;
  s.kernel_h = s.kernel_w = kernel;
  s.stride = stride;
  s.padding = padding;
  return s;
}

void check_stripe_layout(const StripeConvLayout& layout) {
  PRUNUS_CHECK(layout.in_channels > 0 && layout.out_channels > 0 && layout.kernel > 0 && layout.stride > 0 &&
                   layout.padding >= 0,
               "stripe conv layout: sizes must be positive and padding non-negative, got in_channels=",
               layout.in_channels, " out_channels=", layout.out_channels, " kernel=", layout.kernel,
               " stride=", layout.stride, " padding=", layout.padding);
  std::vector<char> seen(size_t(layout.kernel) * layout.kernel, 0);
  for (const StripePosition& p : layout.positions) {
    PRUNUS_CHECK(p.i >= 0 && p.i < layout.kernel && p.j >= 0 && p.j < layout.kernel, "stripe conv layout: position (",
                 p.i, ", ", p.j, ") is outside the ", layout.kernel, "x", layout.kernel, " kernel");
    char& mark = seen[size_t(p.i) * layout.kernel + p.j];
    PRUNUS_CHECK(!mark, "stripe conv layout: position (", p.i, ", ", p.j, ") is listed twice");
    mark = 1;
    for (size_t r = 0; r < p.filters.size(); ++r) {
      const int f = p.filters[r];
      PRUNUS_CHECK(f >= 0 && f < layout.out_channels, "stripe conv layout: position (", p.i, ", ", p.j,
                   ") lists filter ", f, ", expected one in [0, ", layout.out_channels, ")");
      PRUNUS_CHECK(r == 0 || p.filters[r - 1] < f, "stripe conv layout: the filters of position (", p.i, ", ", p.j,
                   ") must be ascending and distinct, got ", p.filters[r - 1], " before ", f);
    }
  }
}

StripeConvLayout make_stripe_layout(int in_channels, int out_channels, int kernel, int stride, int padding,
                                    const std::vector<uint8_t>& keep) {
  StripeConvLayout layout;
  layout.in_channels = in_channels;
  layout.out_channels = out_channels;
  layout.kernel = kernel;
  layout.stride = stride;
  layout.padding = padding;
  check_stripe_layout(layout);
  PRUNUS_CHECK(keep.size() == size_t(out_channels) * kernel * kernel, "make_stripe_layout: keep has ", keep.size(),
               " entries, expected out_channels * kernel * kernel = ", size_t(out_channels) * kernel * kernel);
  for (int i = 0; i < kernel; ++i)
    for (int j = 0; j < kernel; ++j) {
      StripePosition position;
      position.i = i;
      position.j = j;
      for (int f = 0; f < out_channels; ++f)
        if (keep[(size_t(f) * kernel + i) * kernel + j]) position.filters.push_back(f);
      if (!position.filters.empty()) layout.positions.push_back(std::move(position));
    }
  return layout;
}

StripeConvLayout stripe_layout_from_mask(int in_channels, int out_channels, int kernel, int stride, int padding,
                                         const float* mask) {
  PRUNUS_CHECK(in_channels > 0 && out_channels > 0 && kernel > 0, "stripe_layout_from_mask: sizes must be positive, got ",
               in_channels, " in, ", out_channels, " out, kernel ", kernel);
  std::vector<uint8_t> keep(size_t(out_channels) * kernel * kernel, 0);
  for (int f = 0; f < out_channels; ++f)
    for (int c = 0; c < in_channels; ++c)
      for (int k = 0; k < kernel * kernel; ++k)
        if (mask[(int64_t(f) * in_channels + c) * kernel * kernel + k] != 0.0f) keep[size_t(f) * kernel * kernel + k] = 1;
  return make_stripe_layout(in_channels, out_channels, kernel, stride, padding, keep);
}

void compact_stripe_weight(const StripeConvLayout& layout, const float* dense, float* compact) {
  const int C = layout.in_channels, K = layout.kernel;
  for (const StripePosition& p : layout.positions)
    for (int f : p.filters) {
      for (int c = 0; c < C; ++c) compact[c] = dense[((int64_t(f) * C + c) * K + p.i) * K + p.j];
      compact += C;
    }
}

void expand_stripe_weight(const StripeConvLayout& layout, const float* compact, float* dense) {
  const int C = layout.in_channels, K = layout.kernel;
  std::fill(dense, dense + int64_t(layout.out_channels) * C * K * K, 0.0f);
  for (const StripePosition& p : layout.positions)
    for (int f : p.filters) {
      for (int c = 0; c < C; ++c) dense[((int64_t(f) * C + c) * K + p.i) * K + p.j] = compact[c];
      compact += C;
    }
}

namespace {

// Per position: where its block sits and the im2col rows (c, i, j) it reads.
struct PositionPlan {
  int filters = 0;
  int64_t offset = 0;                  // of the compact weight block (and its packed forms)
  std::vector<int64_t> rows;           // into NCHW padded images
  std::vector<int64_t> rows_last;      // into channels-last padded images
  std::vector<int64_t> dy_rows;        // the position's filters in dy
};

std::vector<PositionPlan> plan_positions(const StripeConvLayout& layout, const Im2colGeometry& g, int64_t per_image) {
  std::vector<PositionPlan> plans;
  int64_t offset = 0;
  for (const StripePosition& p : layout.positions) {
    PositionPlan plan;
    plan.filters = int(p.filters.size());
    plan.offset = offset;
    offset += int64_t(plan.filters) * layout.in_channels;
    for (int c = 0; c < layout.in_channels; ++c) {
      plan.rows.push_back(g.row_offset(c, p.i, p.j));
      plan.rows_last.push_back((int64_t(p.i) * g.padded_width + p.j) * g.channels + c);
    }
    for (int f : p.filters) plan.dy_rows.push_back(int64_t(f) * per_image);
    plans.push_back(std::move(plan));
  }
  return plans;
}

Conv2dShape checked_shape(const char* op, const StripeConvLayout& layout, int batch, int height, int width) {
  check_stripe_layout(layout);
  const Conv2dShape s = layout.shape(batch, height, width);
  check_conv_shape(op, s);
  return s;
}

}  // namespace

namespace {

// The forward pass computes groups of filters as dense GEMMs over the union of
// the kernel positions their filters keep (zeros where a filter lacks one).
// Filters that keep the same positions group at no cost; merging two groups
// costs the zeros it adds and saves on GEMM tiles: a tile of few rows runs
// at the speed of kLatencyRows rows (too few independent accumulators to hide
// the FMA latency) plus a fixed kTileCost, and where the input is packed
// (stride > 1) every group packs its rows again. Cost of a group, in
// multiply-adds per pixel and input channel:
//   positions * (sum over its tiles of max(rows, kLatencyRows) + kTileCost, + packing cost).
constexpr int kLatencyRows = 4;
constexpr double kTileCost = 1.0;
constexpr double kPackedRowCost = 2.0;

struct FilterGroupPlan {
  std::vector<int> filters;        // ascending
  std::vector<int> positions;      // indices into layout.positions, ascending
  std::vector<int64_t> sources;    // [filters x positions]: offset of the stripe in the compact weight, or -1
};

struct ForwardPlan {
  std::vector<FilterGroupPlan> groups;
  std::vector<int> uncovered;  // filters that keep no position: bias only
};

using Pattern = std::vector<uint64_t>;  // bit q: keeps layout.positions[q]

double group_cost(int filters, int positions, bool packed) {
  double tiles = 0;
  for (int t = 0; t < gemm::tile_count(filters); ++t)
    tiles += std::max(gemm::tile_rows(filters, t), kLatencyRows) + kTileCost;
  return positions * (tiles + (packed ? kPackedRowCost : 0.0));
}

int pattern_count(const Pattern& p) {
  int n = 0;
  for (uint64_t word : p) n += __builtin_popcountll(word);
  return n;
}

Pattern pattern_union(const Pattern& a, const Pattern& b) {
  Pattern u(a.size());
  for (size_t w = 0; w < a.size(); ++w) u[w] = a[w] | b[w];
  return u;
}

ForwardPlan build_forward_plan(const StripeConvLayout& layout) {
  const int P = int(layout.positions.size()), F = layout.out_channels;
  const size_t words = size_t(P + 63) / 64;
  std::vector<Pattern> of_filter(size_t(F), Pattern(words, 0));
  for (int q = 0; q < P; ++q)
    for (int f : layout.positions[size_t(q)].filters) of_filter[size_t(f)][size_t(q) / 64] |= uint64_t(1) << (q % 64);
  // Groups of identical patterns, in order of their first filter.
  struct Group {
    Pattern pattern;
    std::vector<int> filters;
  };
  std::vector<Group> groups;
  std::map<Pattern, size_t> index;
  ForwardPlan plan;
  for (int f = 0; f < F; ++f) {
    const Pattern& p = of_filter[size_t(f)];
    if (pattern_count(p) == 0) {
      plan.uncovered.push_back(f);
      continue;
    }
    auto it = index.find(p);
    if (it == index.end()) {
      it = index.emplace(p, groups.size()).first;
      groups.push_back({p, {}});
    }
    groups[it->second].filters.push_back(f);
  }
  // Greedy merging: the pair that saves the most, until no merge saves. Each
  // group keeps its best partner; a merge changes only savings that involve
  // the merged groups.
  const bool packed = !forward_reads_input_in_place(layout.stride);
  auto cost = [&](const Group& g) { return group_cost(int(g.filters.size()), pattern_count(g.pattern), packed); };
  auto saving = [&](const Group& a, const Group& b) {
    return cost(a) + cost(b) -
           group_cost(int(a.filters.size() + b.filters.size()), pattern_count(pattern_union(a.pattern, b.pattern)), packed);
  };
  std::vector<bool> alive(groups.size(), true);
  std::vector<double> best(groups.size(), 0.0);
  std::vector<size_t> partner(groups.size(), 0);
  auto refresh = [&](size_t a) {
    best[a] = 0.0;
    for (size_t b = 0; b < groups.size(); ++b)
      if (b != a && alive[b]) {
        const double s = saving(groups[a], groups[b]);
        if (s > best[a]) best[a] = s, partner[a] = b;
      }
  };
  for (size_t a = 0; a < groups.size(); ++a) refresh(a);
  for (;;) {
    size_t a = groups.size();
    for (size_t g = 0; g < groups.size(); ++g)
      if (alive[g] && best[g] > 1e-9 && (a == groups.size() || best[g] > best[a])) a = g;
    if (a == groups.size()) break;
    const size_t b = partner[a];
    groups[a].pattern = pattern_union(groups[a].pattern, groups[b].pattern);
    groups[a].filters.insert(groups[a].filters.end(), groups[b].filters.begin(), groups[b].filters.end());
    std::sort(groups[a].filters.begin(), groups[a].filters.end());
    alive[b] = false;
    for (size_t g = 0; g < groups.size(); ++g) {
      if (!alive[g]) continue;
      if (g == a || partner[g] == a || partner[g] == b) {
        refresh(g);
      } else {
        const double s = saving(groups[g], groups[a]);
        if (s > best[g]) best[g] = s, partner[g] = a;
      }
    }
  }
  // Where each (filter, position) stripe sits in the compact weight.
  std::vector<int64_t> block(size_t(P) + 1, 0);
  for (int q = 0; q < P; ++q)
    block[size_t(q) + 1] = block[size_t(q)] + int64_t(layout.positions[size_t(q)].filters.size()) * layout.in_channels;
  for (size_t g = 0; g < groups.size(); ++g) {
    if (!alive[g]) continue;
    FilterGroupPlan out;
    out.filters = groups[g].filters;
    for (int q = 0; q < P; ++q)
      if (groups[g].pattern[size_t(q) / 64] >> (q % 64) & 1) out.positions.push_back(q);
    for (int f : out.filters)
      for (int q : out.positions) {
        const std::vector<int>& kept = layout.positions[size_t(q)].filters;
        const auto it = std::lower_bound(kept.begin(), kept.end(), f);
        out.sources.push_back(it != kept.end() && *it == f
                                  ? block[size_t(q)] + int64_t(it - kept.begin()) * layout.in_channels
                                  : -1);
      }
    plan.groups.push_back(std::move(out));
  }
  return plan;
}

// Plans are cached by layout: building one is quadratic in the number of
// distinct patterns, and a layout is the same on every call of a layer.
std::shared_ptr<const ForwardPlan> forward_plan(const StripeConvLayout& layout) {
  std::vector<int> key = {layout.in_channels, layout.out_channels, layout.kernel, layout.stride, layout.padding};
  for (const StripePosition& p : layout.positions) {
    key.insert(key.end(), {p.i, p.j, int(p.filters.size())});
    key.insert(key.end(), p.filters.begin(), p.filters.end());
  }
  static std::mutex mutex;
  static std::map<std::vector<int>, std::shared_ptr<const ForwardPlan>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  if (cache.size() >= 1024) cache.clear();  // bounded: layouts change only when a model is compacted again
  auto plan = std::make_shared<const ForwardPlan>(build_forward_plan(layout));
  cache.emplace(std::move(key), plan);
  return plan;
}

}  // namespace

double stripe_forward_relative_cost(const StripeConvLayout& layout) {
  check_stripe_layout(layout);
  const std::shared_ptr<const ForwardPlan> plan = forward_plan(layout);
  const bool packed = !forward_reads_input_in_place(layout.stride);
  double cost = 0;
  for (const FilterGroupPlan& group : plan->groups)
    cost += group_cost(int(group.filters.size()), int(group.positions.size()), packed);
  return cost / group_cost(layout.out_channels, layout.kernel * layout.kernel, packed);
}

void stripe_conv2d_forward(const StripeConvLayout& layout, int batch, int height, int width, const float* x,
                           const float* compact_weight, const float* bias, float* y) {
  const Conv2dShape s = checked_shape("stripe_conv2d_forward", layout, batch, height, width);
  const Im2colGeometry g = conv_input_geometry(s);
  const int C = s.in_channels, F = s.out_channels;
  const int64_t per_image = g.out_pixels();
  const std::shared_ptr<const ForwardPlan> plan = forward_plan(layout);
  for (int f : plan->uncovered)
    for (int n = 0; n < s.batch; ++n) {
      float* row = y + (int64_t(n) * F + f) * per_image;
      std::fill(row, row + per_image, bias ? bias[f] : 0.0f);
    }
  if (plan->groups.empty()) return;
  // Each group's weight, zeros where a filter lacks a position, packed as A tiles.
  size_t packed_size = 0, widest = 0;
  for (const FilterGroupPlan& group : plan->groups) {
    packed_size += group.filters.size() * group.positions.size() * size_t(C);
    widest = std::max(widest, group.filters.size() * group.positions.size() * size_t(C));
  }
  float* a_all = thread_workspace(WorkspaceSlot::ConvWeight, packed_size);
  float* dense = thread_workspace(WorkspaceSlot::ConvGather, widest);
  std::vector<ForwardGroup> groups(plan->groups.size());
  for (size_t q = 0; q < plan->groups.size(); ++q) {
    const FilterGroupPlan& group = plan->groups[q];
    const int M = int(group.filters.size()), U = int(group.positions.size()), K = U * C;
    for (int r = 0; r < M; ++r)
      for (int u = 0; u < U; ++u) {
        const int64_t source = group.sources[size_t(r) * U + u];
        float* to = dense + int64_t(r) * K + int64_t(u) * C;
        if (source < 0)
          std::fill(to, to + C, 0.0f);
        else
          std::copy(compact_weight + source, compact_weight + source + C, to);
      }
    gemm::pack_a_tiles(false, dense, K, M, 0, gemm::tile_count(M), 0, K, a_all);
    // A group of every filter writes y directly, as the dense convolution does.
    if (M < F) groups[q].filters = group.filters;
    groups[q].a_tiles = a_all;
    for (int u = 0; u < U; ++u) {
      const StripePosition& p = layout.positions[size_t(group.positions[size_t(u)])];
      for (int c = 0; c < C; ++c) groups[q].rows.push_back(g.row_offset(c, p.i, p.j));
    }
    a_all += int64_t(M) * K;
  }
  conv_forward_groups(s, x, groups, bias, y);
}

void stripe_conv2d_backward_data(const StripeConvLayout& layout, int batch, int height, int width, const float* dy,
                                 const float* compact_weight, float* dx) {
  const Conv2dShape s = checked_shape("stripe_conv2d_backward_data", layout, batch, height, width);
  const Im2colGeometry g = conv_input_geometry(s);
  const Im2colGeometry g_dy = plain_geometry(s.out_channels, s.out_height(), s.out_width());
  const int C = s.in_channels, F = s.out_channels;
  const int64_t per_image = g.out_pixels();
  const std::vector<PositionPlan> plans = plan_positions(layout, g, per_image);
  // A = W_p^T: C rows, depth n_p, at the block's offset.
  float* a_all = thread_workspace(WorkspaceSlot::ConvWeight, size_t(std::max<int64_t>(1, layout.compact_weight_size())));
  for (const PositionPlan& p : plans)
    if (p.filters > 0)
      gemm::pack_a_tiles(true, compact_weight + p.offset, C, C, 0, gemm::tile_count(C), 0, p.filters, a_all + p.offset);
  const int threads = available_threads();
  // Pieces of an image set the order of col2im's sums: independent of the thread count.
  const std::vector<PixelChunk> chunks =
      plan_pixel_chunks(s.batch, per_image, chunk_columns(C, 512 << 10, s.batch * per_image, 1));
  std::vector<size_t> owner_begin;
  for (size_t c = 0; c < chunks.size(); ++c)
    if (c == 0 || chunks[c].image_begin != chunks[c - 1].image_begin) owner_begin.push_back(c);
  owner_begin.push_back(chunks.size());
  const int64_t owners = int64_t(owner_begin.size()) - 1;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (threads > 1 && owners > 1)
  for (int64_t owner = 0; owner < owners; ++owner) {
    const PixelChunk& head = chunks[owner_begin[size_t(owner)]];
    const int images = head.image_end - head.image_begin;
    float* padded = s.padding > 0 ? thread_workspace(WorkspaceSlot::ConvPadded, size_t(images) * g.padded_image_size())
                                  : dx + head.image_begin * g.image_size();
    std::fill(padded, padded + images * g.padded_image_size(), 0.0f);
    for (size_t c = owner_begin[size_t(owner)]; c < owner_begin[size_t(owner) + 1]; ++c) {
      const PixelChunk& chunk = chunks[c];
      const int columns = chunk.pixel_count;
      for (const PositionPlan& p : plans) {
        if (p.filters == 0) continue;  // nothing to add
        float* panels = thread_workspace(WorkspaceSlot::ConvGather, size_t(gemm::padded_columns(columns)) * p.filters);
        im2col_pack_panels(g_dy, dy + int64_t(chunk.image_begin) * F * per_image, p.dy_rows.data(), p.filters,
                           chunk.pixel_begin, columns, panels);
        float* columns_grad = thread_workspace(WorkspaceSlot::ConvColumns, size_t(C) * columns);
        gemm::multiply_fully_packed(C, 0, gemm::tile_count(C), columns, p.filters, a_all + p.offset, panels, 1.0f,
                                    0.0f, columns_grad, columns);
        col2im_rows_add(g, columns_grad, columns, p.rows.data(), C, chunk.pixel_begin, columns, padded);
      }
    }
    if (s.padding > 0)
      for (int n = 0; n < images; ++n)
        unpad_image(g, padded + n * g.padded_image_size(), dx + (head.image_begin + n) * g.image_size());
  }
}

void stripe_conv2d_backward_weight(const StripeConvLayout& layout, int batch, int height, int width, const float* x,
                                   const float* dy, float* compact_dw) {
  const Conv2dShape s = checked_shape("stripe_conv2d_backward_weight", layout, batch, height, width);
  const Im2colGeometry g = conv_input_geometry(s);
  const int C = s.in_channels, F = s.out_channels;
  const int64_t per_image = g.out_pixels();
  const std::vector<PositionPlan> plans = plan_positions(layout, g, per_image);
  const int positions = int(plans.size());
  if (positions == 0) return;
  // Positions go to threads whole, the biggest first to the least loaded
  // thread; a position's sums do not depend on which thread does them.
  const int threads = std::min(available_threads(), positions);
  std::vector<int> order(static_cast<size_t>(positions)), owner(static_cast<size_t>(positions));
  for (int p = 0; p < positions; ++p) order[size_t(p)] = p;
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return plans[size_t(a)].filters > plans[size_t(b)].filters; });
  std::vector<int64_t> load(size_t(threads), 0);
  for (int p : order) {
    const size_t t = size_t(std::min_element(load.begin(), load.end()) - load.begin());
    owner[size_t(p)] = int(t);
    load[t] += plans[size_t(p)].filters;
  }
  const std::vector<PixelChunk> chunks = plan_pixel_chunks(s.batch, per_image, kBackwardWeightColumns, 16);
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    const int t = omp_get_thread_num();
    PaddedInput input(g, x, true);
    for (size_t c = 0; c < chunks.size(); ++c) {
      const PixelChunk& chunk = chunks[c];
      const int columns = chunk.pixel_count, depth = transposed_panel_depth(columns);
      const float* images = nullptr;
      for (int q = 0; q < positions; ++q) {
        if (owner[size_t(q)] != t || plans[size_t(q)].filters == 0) continue;
        if (!images) images = input.images(chunk);
        const PositionPlan& p = plans[size_t(q)];
        const int tiles = gemm::tile_count(p.filters);
        float* a_tiles = thread_workspace(WorkspaceSlot::ConvWeight, size_t(p.filters) * columns);
        for (int n = chunk.image_begin, k = 0; n < chunk.image_end; ++n) {
          const int64_t begin = n == chunk.image_begin ? chunk.pixel_begin : 0;
          const int count = int(std::min<int64_t>(per_image - begin, columns - k));
          gemm::pack_a_tiles_into(false, dy + int64_t(n) * F * per_image + begin, int(per_image), p.filters, 0, tiles,
                                  0, count, a_tiles, columns, k, layout.positions[size_t(q)].filters.data());
          k += count;
        }
        float* b_panels = thread_workspace(WorkspaceSlot::ConvColumns, size_t(depth) * gemm::padded_columns(C));
        im2col_transposed_panels(g, images, p.rows_last.data(), C, chunk.pixel_begin, columns, b_panels);
        for (int kb = 0; kb < gemm::depth_block_count(columns); ++kb) {
          const int k0 = gemm::depth_block_begin(columns, kb), k1 = gemm::depth_block_begin(columns, kb + 1);
          gemm::PackedProduct product;
          product.M = p.filters;
          product.tile_begin = 0;
          product.tile_end = tiles;
          product.a_tiles = a_tiles;
          product.a_k_stride = columns;
          product.b_panels = b_panels;
          product.b_k_stride = depth;
          product.n_count = C;
          product.k_offset = k0;
          product.k_count = k1 - k0;
          product.first_k_block = c == 0 && kb == 0;
          product.C = compact_dw + p.offset;
          product.ldc = C;
          gemm::multiply_packed(product);
        }
      }
    }
  }
}

}  // namespace kernels
}  // namespace prunus
