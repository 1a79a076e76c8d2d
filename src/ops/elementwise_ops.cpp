// Elementwise ops: relu, add and mul (with b broadcast along its size-1
// dims), dropout. The same templated loops serve float32 and float64; they
// are parallel only over disjoint outputs, so results do not depend on the
// thread count.
#include <algorithm>
#include <vector>

#include "prunus/autograd.h"
#include "prunus/ops.h"
#include "prunus/rng.h"

namespace prunus {
namespace ops {
namespace {

constexpr int64_t kParallelThreshold = 32768;  // elements; below this threads cost more than they save

void check_cpu(const char* op, const Tensor& t) {
  PRUNUS_CHECK(t.defined(), op, ": an input is undefined");
  PRUNUS_CHECK(t.device() == Device::CPU, op, ": CUDA tensors are not supported yet (CPU only), got a ",
               device_name(t.device()), " tensor of shape ", shape_str(t.shape()));
}

// ------------------------------------------------------------- broadcasting
// a's dims, with size-1 dims dropped and neighbours merged when b either
// follows a in both (varies) or is 1 in both. Gates then become short
// alternations: [F,C,K,K]*[F,1,K,K] -> (F varies)(C fixed)(K*K varies).
// The last collapsed dim is the inner one: a is a sequence of contiguous
// rows of that length, and b's offset for each row follows the outer dims.
constexpr int kMaxDims = 8;
constexpr int64_t kItemElements = 4096;  // elements per parallel work item, about

struct BroadcastLayout {
  int rank = 0;
  int64_t size[kMaxDims] = {};      // collapsed dims of a
  bool varies[kMaxDims] = {};       // b follows a along this dim (else b is 1 there)
  int64_t b_stride[kMaxDims] = {};  // strides into b, 0 where b is broadcast
  int64_t inner() const { return size[rank - 1]; }
  bool inner_varies() const { return varies[rank - 1]; }
  int64_t rows() const {
    int64_t n = 1;
    for (int d = 0; d < rank - 1; ++d) n *= size[d];
    return n;
  }
};

BroadcastLayout broadcast_layout(const char* op, const Tensor& a, const Tensor& b) {
  const Shape &as = a.shape(), &bs = b.shape();
  bool compatible = as.size() == bs.size();
  for (size_t d = 0; compatible && d < as.size(); ++d) compatible = bs[d] == as[d] || bs[d] == 1;
  PRUNUS_CHECK(compatible, op, ": b has shape ", shape_str(bs), ", which does not broadcast to a's shape ",
               shape_str(as), "; b needs a's rank with each dimension equal to a's or 1");
  BroadcastLayout L;
  for (size_t d = 0; d < as.size(); ++d) {
    if (as[d] == 1) continue;
    const bool varies = bs[d] == as[d];
    if (L.rank > 0 && L.varies[L.rank - 1] == varies) {
      L.size[L.rank - 1] *= as[d];
      continue;
    }
    PRUNUS_CHECK(L.rank < kMaxDims, op, ": shapes ", shape_str(as), " and ", shape_str(bs), " alternate between ",
                 "broadcast and matching dimensions more than ", kMaxDims, " times; that is not supported");
    L.size[L.rank] = as[d];
    L.varies[L.rank] = varies;
    ++L.rank;
  }
  if (L.rank == 0) {  // a has one element
    L.size[0] = 1;
    L.varies[0] = true;
    L.rank = 1;
  }
  int64_t b_next = 1;
  for (int d = L.rank - 1; d >= 0; --d)
    if (L.varies[d]) {
      L.b_stride[d] = b_next;
      b_next *= L.size[d];
    }
  return L;
}

// Walks consecutive rows of a, keeping the offset of each row's b values
// (an odometer over the outer dims: no division per row).
struct RowCursor {
  RowCursor(const BroadcastLayout& layout, int64_t row) : L(layout) {
    for (int d = L.rank - 2; d >= 0; --d) {
      coordinate[d] = row % L.size[d];
      row /= L.size[d];
      b_offset += coordinate[d] * L.b_stride[d];
    }
  }
  void next() {
    for (int d = L.rank - 2; d >= 0; --d) {
      b_offset += L.b_stride[d];
      if (++coordinate[d] < L.size[d]) return;
      b_offset -= L.size[d] * L.b_stride[d];
      coordinate[d] = 0;
    }
  }
  const BroadcastLayout& L;
  int64_t coordinate[kMaxDims] = {};
  int64_t b_offset = 0;
};

// y[i] = combine(a[i], b[broadcast(i)]). A work item is a group of short rows
// or a piece of one long row, so a same-shape op (one row) is parallel too.
template <typename T, typename Combine>
void broadcast_apply(const BroadcastLayout& L, const T* a, const T* b, T* y, Combine combine) {
  const int64_t inner = L.inner(), rows = L.rows();
  const bool inner_varies = L.inner_varies();
  const int64_t rows_per_item = std::max<int64_t>(1, kItemElements / inner);
  const int64_t pieces_per_row = (inner + kItemElements - 1) / kItemElements;
  const int64_t piece = (inner + pieces_per_row - 1) / pieces_per_row;
  const int64_t row_groups = (rows + rows_per_item - 1) / rows_per_item;
#pragma omp parallel for schedule(static) if (rows * inner > kParallelThreshold)
  for (int64_t item = 0; item < row_groups * pieces_per_row; ++item) {
    const int64_t first = (item / pieces_per_row) * rows_per_item, last = std::min(rows, first + rows_per_item);
    const int64_t begin = (item % pieces_per_row) * piece, end = std::min(inner, begin + piece);
    RowCursor cursor(L, first);
    for (int64_t row = first; row < last; ++row, cursor.next()) {
      const T* ar = a + row * inner;
      T* yr = y + row * inner;
      if (inner_varies) {
        const T* br = b + cursor.b_offset;
#pragma omp simd
        for (int64_t i = begin; i < end; ++i) yr[i] = combine(ar[i], br[i]);
      } else {
        const T bv = b[cursor.b_offset];
#pragma omp simd
        for (int64_t i = begin; i < end; ++i) yr[i] = combine(ar[i], bv);
      }
    }
  }
}

// gb (b's numel elements) = g, or g * a when kScaled, summed over the dims
// along which b is broadcast. Threads split the outermost dim along which b
// varies, so they write disjoint parts of gb, and each gb element is summed
// by one thread in row order: the result does not depend on the thread count.
template <typename T, bool kScaled>
void broadcast_reduce(const BroadcastLayout& L, const T* g, const T* a, T* gb, int64_t b_numel) {
  std::fill(gb, gb + b_numel, T(0));
  const int64_t inner = L.inner(), rows = L.rows();
  const bool inner_varies = L.inner_varies();
  // Adds rows [first, last), inner positions [begin, end), into gb.
  auto add_rows = [&](int64_t first, int64_t last, int64_t begin, int64_t end) {
    RowCursor cursor(L, first);
    for (int64_t row = first; row < last; ++row, cursor.next()) {
      const T* gr = g + row * inner;
      const T* ar = kScaled ? a + row * inner : nullptr;
      T* out = gb + cursor.b_offset;
      if (inner_varies) {
#pragma omp simd
        for (int64_t i = begin; i < end; ++i) out[i] += kScaled ? gr[i] * ar[i] : gr[i];
      } else {
        double acc = 0;
#pragma omp simd reduction(+ : acc)
        for (int64_t i = begin; i < end; ++i) acc += kScaled ? double(gr[i]) * ar[i] : double(gr[i]);
        out[0] += T(acc);
      }
    }
  };
  const bool parallel = rows * inner > kParallelThreshold;
  int split = -1;
  for (int d = 0; d < L.rank && split < 0; ++d)
    if (L.varies[d]) split = d;
  if (split < 0) {  // b is a single value
    add_rows(0, rows, 0, inner);
  } else if (split == L.rank - 1) {  // b varies along the inner dim only: threads take column ranges
    const int64_t columns = 256, pieces = (inner + columns - 1) / columns;
#pragma omp parallel for schedule(static) if (parallel)
    for (int64_t k = 0; k < pieces; ++k) add_rows(0, rows, k * columns, std::min(inner, (k + 1) * columns));
  } else {
    // Dims before `split` are fixed (merged into at most one, dim 0); for each
    // of its indices the rows of split indices [i0, i1) are contiguous.
    const int64_t outer = split == 0 ? 1 : L.size[0], indices = L.size[split];
    const int64_t rows_per_index = rows / (outer * indices);
    const int64_t per_item = std::max<int64_t>(1, kItemElements / (outer * rows_per_index * inner));
    const int64_t items = (indices + per_item - 1) / per_item;
#pragma omp parallel for schedule(static) if (parallel)
    for (int64_t k = 0; k < items; ++k) {
      const int64_t i0 = k * per_item, i1 = std::min(indices, i0 + per_item);
      for (int64_t o = 0; o < outer; ++o)
        add_rows((o * indices + i0) * rows_per_index, (o * indices + i1) * rows_per_index, 0, inner);
    }
  }
}

template <typename T, typename Combine>
Tensor apply_typed(const BroadcastLayout& L, const Tensor& a, const Tensor& b, Combine combine) {
  Tensor y = Tensor::empty(a.shape(), a.dtype());
  if (a.numel() > 0) broadcast_apply<T>(L, a.data<T>(), b.data<T>(), y.data<T>(), combine);
  return y;
}

// y = a (+ or *) b with b broadcast; `multiply` picks the op.
Tensor broadcast_binary(const BroadcastLayout& L, const Tensor& a, const Tensor& b, bool multiply) {
  if (a.dtype() == DType::F32) {
    if (multiply) return apply_typed<float>(L, a, b, [](float u, float v) { return u * v; });
    return apply_typed<float>(L, a, b, [](float u, float v) { return u + v; });
  }
  if (multiply) return apply_typed<double>(L, a, b, [](double u, double v) { return u * v; });
  return apply_typed<double>(L, a, b, [](double u, double v) { return u + v; });
}

// The gradient of b: g (times a when `scale_by` is defined) summed over the
// dims along which b was broadcast.
Tensor reduce_to_b(const BroadcastLayout& L, const Tensor& g, const Tensor& scale_by, const Shape& b_shape) {
  if (g.numel() == 0) return Tensor::zeros(b_shape, g.dtype());  // a sum over nothing
  Tensor gb = Tensor::empty(b_shape, g.dtype());
  const bool scaled = scale_by.defined();
  if (g.dtype() == DType::F32) {
    if (scaled)
      broadcast_reduce<float, true>(L, g.f32(), scale_by.f32(), gb.f32(), gb.numel());
    else
      broadcast_reduce<float, false>(L, g.f32(), nullptr, gb.f32(), gb.numel());
  } else {
    if (scaled)
      broadcast_reduce<double, true>(L, g.f64(), scale_by.f64(), gb.f64(), gb.numel());
    else
      broadcast_reduce<double, false>(L, g.f64(), nullptr, gb.f64(), gb.numel());
  }
  return gb;
}

void check_binary(const char* op, const Tensor& a, const Tensor& b) {
  check_cpu(op, a);
  check_cpu(op, b);
  check_dtype_device(op, a, b);
}

// relu's forward and backward: y = x where x > 0 (NaN passes through, so a
// diverging run is still caught by the loss); dx = dy where x > 0.
template <typename T>
void relu_forward(const T* x, T* y, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > kParallelThreshold)
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] < T(0) ? T(0) : x[i];
}
template <typename T>
void relu_backward(const T* x, const T* dy, T* dx, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > kParallelThreshold)
  for (int64_t i = 0; i < n; ++i) dx[i] = x[i] > T(0) ? dy[i] : T(0);
}

// y = x * mask elementwise (dropout's forward and backward).
template <typename T>
void multiply_by_mask(const T* x, const T* mask, T* y, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > kParallelThreshold)
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * mask[i];
}

Tensor masked(const Tensor& x, const Tensor& mask) {
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  if (x.dtype() == DType::F32)
    multiply_by_mask(x.f32(), mask.f32(), y.f32(), x.numel());
  else
    multiply_by_mask(x.f64(), mask.f64(), y.f64(), x.numel());
  return y;
}

}  // namespace

Tensor relu(const Tensor& x) {
  check_cpu("relu", x);
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  if (x.dtype() == DType::F32)
    relu_forward(x.f32(), y.f32(), x.numel());
  else
    relu_forward(x.f64(), y.f64(), x.numel());
  record_op("relu", y, {x}, [x](const Tensor& dy) {  // holds x, not y: y holding its own node is a cycle
    Tensor dx = Tensor::empty(x.shape(), x.dtype());
    if (x.dtype() == DType::F32)
      relu_backward(x.f32(), dy.f32(), dx.f32(), x.numel());
    else
      relu_backward(x.f64(), dy.f64(), dx.f64(), x.numel());
    return std::vector<Tensor>{dx};
  });
  return y;
}

Tensor add(const Tensor& a, const Tensor& b) {
  check_binary("add", a, b);
  const BroadcastLayout layout = broadcast_layout("add", a, b);
  Tensor y = broadcast_binary(layout, a, b, false);
  const bool same_shape = a.shape() == b.shape();
  const Shape b_shape = b.shape();
  const bool b_needs_grad = b.requires_grad();
  record_op("add", y, {a, b}, [layout, same_shape, b_shape, b_needs_grad](const Tensor& g) {
    if (same_shape) return std::vector<Tensor>{g, g};  // the engine un-aliases shared gradients
    return std::vector<Tensor>{g, b_needs_grad ? reduce_to_b(layout, g, Tensor(), b_shape) : Tensor()};
  });
  return y;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  check_binary("mul", a, b);
  const BroadcastLayout layout = broadcast_layout("mul", a, b);
  Tensor y = broadcast_binary(layout, a, b, true);
  record_op("mul", y, {a, b}, [layout, a, b](const Tensor& g) {
    // Masks and frozen factors need no gradient: skip that work.
    Tensor ga = a.requires_grad() ? broadcast_binary(layout, g, b, true) : Tensor();
    Tensor gb = b.requires_grad() ? reduce_to_b(layout, g, a, b.shape()) : Tensor();
    return std::vector<Tensor>{ga, gb};
  });
  return y;
}

Tensor dropout(const Tensor& x, double p, bool training, Rng& rng) {
  check_cpu("dropout", x);
  PRUNUS_CHECK(p >= 0 && p <= 1, "dropout: probability p is ", p, ", expected a value in [0, 1]");
  if (!training || p == 0) return x;  // identity, as in PyTorch: nothing to record
  // The mask holds 0 or 1/(1-p) (inverted dropout, so eval needs no scaling);
  // drawn serially from rng so one seed gives one mask whatever the threads.
  Tensor mask = Tensor::empty(x.shape(), x.dtype());
  const int64_t n = x.numel();
  const double keep_scale = p < 1 ? 1.0 / (1.0 - p) : 0.0;
  if (x.dtype() == DType::F32) {
    float* m = mask.f32();
    for (int64_t i = 0; i < n; ++i) m[i] = rng.uniform() >= p ? float(keep_scale) : 0.0f;
  } else {
    double* m = mask.f64();
    for (int64_t i = 0; i < n; ++i) m[i] = rng.uniform() >= p ? keep_scale : 0.0;
  }
  Tensor y = masked(x, mask);
  record_op("dropout", y, {x}, [mask](const Tensor& dy) { return std::vector<Tensor>{masked(dy, mask)}; }, {{"p", p}});
  return y;
}

}  // namespace ops
}  // namespace prunus
