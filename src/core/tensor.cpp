#include "prunus/tensor.h"

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include "prunus/autograd.h"
#include "prunus/device_memory.h"
#include "prunus/rng.h"

namespace prunus {

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    if (__builtin_mul_overflow(n, d, &n) || n > (int64_t{1} << 62))
      PRUNUS_FAIL("shape ", shape_str(shape), " has more than 2^62 elements");
  return n;
}

std::string shape_str(const Shape& shape) {
  std::ostringstream out;
  out << "[";
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << "]";
  return out.str();
}

size_t dtype_size(DType dtype) { return dtype == DType::F32 ? 4 : 8; }
const char* dtype_name(DType dtype) { return dtype == DType::F32 ? "float32" : "float64"; }
const char* device_name(Device device) { return device == Device::CPU ? "cpu" : "cuda"; }

// Host memory cache. Training allocates the same activation sizes every step;
// returning freed blocks to the C library makes each large allocation a fresh
// mmap whose page faults cost more than the op that fills it. Freed blocks are
// kept by exact size and reused (up to kHostCacheLimit bytes in the cache).
// Sanitizer builds bypass the cache so that use-after-free is still caught.
namespace {
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kUseHostCache = false;
#else
constexpr bool kUseHostCache = true;
#endif
constexpr size_t kHostCacheLimit = size_t(2) << 30;

struct HostCache {
  std::mutex mutex;
  std::unordered_map<size_t, std::vector<void*>> free_blocks;
  size_t cached_bytes = 0;
  ~HostCache() {
    for (auto& [size, blocks] : free_blocks)
      for (void* p : blocks) std::free(p);
  }
};
HostCache& host_cache() {
  static HostCache cache;
  return cache;
}

void* host_alloc(size_t rounded) {
  if (kUseHostCache) {
    HostCache& cache = host_cache();
    std::lock_guard<std::mutex> lock(cache.mutex);
    auto it = cache.free_blocks.find(rounded);
    if (it != cache.free_blocks.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      cache.cached_bytes -= rounded;
      return p;
    }
  }
  return std::aligned_alloc(64, rounded);
}

void host_free(void* p, size_t rounded) {
  if (kUseHostCache) {
    HostCache& cache = host_cache();
    std::lock_guard<std::mutex> lock(cache.mutex);
    if (cache.cached_bytes + rounded <= kHostCacheLimit) {
      cache.free_blocks[rounded].push_back(p);
      cache.cached_bytes += rounded;
      return;
    }
  }
  std::free(p);
}

size_t rounded_host_bytes(size_t bytes) { return bytes ? ((bytes + 63) / 64) * 64 : 64; }
}  // namespace

static thread_local HostAllocationLimit* innermost_limit = nullptr;

HostAllocationLimit::HostAllocationLimit(size_t max_bytes, std::string what)
    : max_bytes_(max_bytes), what_(std::move(what)), outer_(innermost_limit) {
  innermost_limit = this;
}

HostAllocationLimit::~HostAllocationLimit() { innermost_limit = outer_; }

void HostAllocationLimit::take(size_t bytes) {
  PRUNUS_CHECK(bytes <= max_bytes_ - used_, what_, " would allocate more than ", max_bytes_,
               " bytes (this allocation: ", bytes, " bytes, ", used_, " taken before it)");
  used_ += bytes;
}

namespace {
bool poison_uninitialized() {
  static const bool poison = [] {
    const char* value = std::getenv("PRUNUS_POISON_UNINITIALIZED");
    return value && std::strcmp(value, "0") != 0 && value[0] != '\0';
  }();
  return poison;
}

Tensor new_tensor(const Shape& shape, DType dtype, Device device, bool zeroed) {
  for (int64_t d : shape) PRUNUS_CHECK(d >= 0, "negative dimension in shape ", shape_str(shape));
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = shape;
  impl->dtype = dtype;
  impl->device = device;
  const int64_t numel = shape_numel(shape);
  PRUNUS_CHECK(numel <= (int64_t{1} << 40), "tensor of shape ", shape_str(shape), " is larger than 2^40 elements");
  impl->storage = std::make_shared<Storage>(static_cast<size_t>(numel) * dtype_size(dtype), device, zeroed);
  return Tensor(impl);
}
}  // namespace

Storage::Storage(size_t bytes_, Device device_, bool zeroed) : bytes(bytes_), device(device_) {
  if (innermost_limit && device == Device::CPU) innermost_limit->take(bytes);
  if (device == Device::CUDA) {
    data = device_alloc(bytes);
    return;
  }
  const size_t rounded = rounded_host_bytes(bytes);
  data = host_alloc(rounded);
  PRUNUS_CHECK(data != nullptr, "out of memory allocating ", bytes, " bytes");
  if (zeroed)
    std::memset(data, 0, rounded);
  else if (poison_uninitialized())
    std::memset(data, 0xff, rounded);  // a NaN in every float and double
}

Storage::~Storage() {
  if (device == Device::CUDA)
    device_free(data, bytes);
  else
    host_free(data, rounded_host_bytes(bytes));
}

TensorImpl& Tensor::checked() const {
  PRUNUS_CHECK(impl_ != nullptr, "use of an undefined tensor");
  return *impl_;
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) { return new_tensor(shape, dtype, device, false); }

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) { return new_tensor(shape, dtype, device, true); }

Tensor Tensor::ones(const Shape& shape, DType dtype) { return full(shape, 1.0, dtype); }

Tensor Tensor::full(const Shape& shape, double value, DType dtype) {
  Tensor t = empty(shape, dtype);
  t.fill_(value);
  return t;
}

Tensor Tensor::randn(const Shape& shape, Rng& rng, double mean, double stddev, DType dtype) {
  Tensor t = empty(shape, dtype);
  const int64_t n = t.numel();
  if (dtype == DType::F32) {
    float* p = t.f32();
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<float>(mean + stddev * rng.normal());
  } else {
    double* p = t.f64();
    for (int64_t i = 0; i < n; ++i) p[i] = mean + stddev * rng.normal();
  }
  return t;
}

Tensor Tensor::uniform(const Shape& shape, Rng& rng, double lo, double hi, DType dtype) {
  Tensor t = empty(shape, dtype);
  const int64_t n = t.numel();
  if (dtype == DType::F32) {
    float* p = t.f32();
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<float>(rng.uniform(lo, hi));
  } else {
    double* p = t.f64();
    for (int64_t i = 0; i < n; ++i) p[i] = rng.uniform(lo, hi);
  }
  return t;
}

Tensor Tensor::from_vector(const Shape& shape, const std::vector<float>& values) {
  PRUNUS_CHECK(shape_numel(shape) == static_cast<int64_t>(values.size()), "from_vector: shape ",
               shape_str(shape), " needs ", shape_numel(shape), " values, got ", values.size());
  Tensor t = empty(shape, DType::F32);
  if (!values.empty()) std::memcpy(t.f32(), values.data(), values.size() * sizeof(float));
  return t;
}

Tensor Tensor::from_vector_f64(const Shape& shape, const std::vector<double>& values) {
  PRUNUS_CHECK(shape_numel(shape) == static_cast<int64_t>(values.size()), "from_vector_f64: shape ",
               shape_str(shape), " needs ", shape_numel(shape), " values, got ", values.size());
  Tensor t = empty(shape, DType::F64);
  if (!values.empty()) std::memcpy(t.f64(), values.data(), values.size() * sizeof(double));
  return t;
}

int64_t Tensor::size(int dim) const {
  const int n = ndim();
  const int d = dim < 0 ? dim + n : dim;
  PRUNUS_CHECK(d >= 0 && d < n, "dimension ", dim, " out of range for shape ", shape_str(shape()));
  return shape()[d];
}

template <typename T>
T* Tensor::data() const {
  const TensorImpl& t = checked();
  constexpr DType want = sizeof(T) == 4 ? DType::F32 : DType::F64;
  PRUNUS_CHECK(t.dtype == want, "tensor", t.name.empty() ? "" : " '", t.name,
               t.name.empty() ? "" : "'", " is ", dtype_name(t.dtype), ", accessed as ", dtype_name(want));
  return static_cast<T*>(t.storage->data) + t.offset;
}
template float* Tensor::data<float>() const;
template double* Tensor::data<double>() const;

void* Tensor::raw_data() const {
  const TensorImpl& t = checked();
  return static_cast<char*>(t.storage->data) + t.offset * dtype_size(t.dtype);
}

Tensor Tensor::view(const Shape& new_shape) const {
  Shape shape = new_shape;
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      PRUNUS_CHECK(infer < 0, "view: more than one -1 in ", shape_str(new_shape));
      infer = static_cast<int>(i);
    } else {
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    PRUNUS_CHECK(known > 0 && numel() % known == 0, "view: cannot view ", shape_str(this->shape()),
                 " as ", shape_str(new_shape));
    shape[infer] = numel() / known;
  }
  PRUNUS_CHECK(shape_numel(shape) == numel(), "view: cannot view ", shape_str(this->shape()), " (",
               numel(), " elements) as ", shape_str(new_shape));
  auto impl = std::make_shared<TensorImpl>(checked());
  impl->shape = shape;
  impl->grad.reset();
  impl->grad_fn.reset();
  impl->requires_grad = false;
  return Tensor(impl);
}

Tensor Tensor::clone() const {
  Tensor t = empty(shape(), dtype(), device());
  t.copy_(*this);
  t.impl_->name = name();
  return t;
}

Tensor Tensor::to(DType target) const {
  Tensor t = empty(shape(), target, device());
  t.copy_(*this);
  return t;
}

Tensor Tensor::to(Device target) const {
  Tensor t = empty(shape(), dtype(), target);
  t.copy_(*this);
  return t;
}

Tensor Tensor::detach() const {
  auto impl = std::make_shared<TensorImpl>(checked());
  impl->grad.reset();
  impl->grad_fn.reset();
  impl->requires_grad = false;
  return Tensor(impl);
}

void Tensor::fill_(double value) {
  PRUNUS_CHECK(device() == Device::CPU, "fill_ on a ", device_name(device()), " tensor: use the CUDA ops");
  const int64_t n = numel();
  if (dtype() == DType::F32) {
    float* p = f32();
    const float v = static_cast<float>(value);
    for (int64_t i = 0; i < n; ++i) p[i] = v;
  } else {
    double* p = f64();
    for (int64_t i = 0; i < n; ++i) p[i] = value;
  }
}

void Tensor::copy_(const Tensor& source) {
  PRUNUS_CHECK(numel() == source.numel(), "copy_: destination ", shape_str(shape()), " and source ",
               shape_str(source.shape()), " differ in size");
  const int64_t n = numel();
  const size_t bytes = n * dtype_size(dtype());
  if (device() != Device::CPU || source.device() != Device::CPU) {
    PRUNUS_CHECK(dtype() == source.dtype(), "copy_ across devices needs equal dtypes");
    if (device() == Device::CUDA && source.device() == Device::CUDA)
      copy_device_to_device(raw_data(), source.raw_data(), bytes);
    else if (device() == Device::CUDA)
      copy_host_to_device(raw_data(), source.raw_data(), bytes);
    else
      copy_device_to_host(raw_data(), source.raw_data(), bytes);
    return;
  }
  if (dtype() == source.dtype()) {
    std::memmove(raw_data(), source.raw_data(), bytes);
  } else if (dtype() == DType::F32) {
    float* d = f32();
    const double* s = source.f64();
    for (int64_t i = 0; i < n; ++i) d[i] = static_cast<float>(s[i]);
  } else {
    double* d = f64();
    const float* s = source.f32();
    for (int64_t i = 0; i < n; ++i) d[i] = s[i];
  }
}

std::vector<float> Tensor::to_vector() const {
  Tensor host = device() == Device::CPU ? *this : to(Device::CPU);
  std::vector<float> out(numel());
  if (dtype() == DType::F32) {
    if (!out.empty()) std::memcpy(out.data(), host.f32(), out.size() * sizeof(float));
  } else {
    const double* p = host.f64();
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<float>(p[i]);
  }
  return out;
}

std::vector<double> Tensor::to_vector_f64() const {
  Tensor host = device() == Device::CPU ? *this : to(Device::CPU);
  std::vector<double> out(numel());
  if (dtype() == DType::F64) {
    if (!out.empty()) std::memcpy(out.data(), host.f64(), out.size() * sizeof(double));
  } else {
    const float* p = host.f32();
    for (size_t i = 0; i < out.size(); ++i) out[i] = p[i];
  }
  return out;
}

double Tensor::item() const {
  PRUNUS_CHECK(numel() == 1, "item() on a tensor of shape ", shape_str(shape()), "; it needs one element");
  return to_vector_f64()[0];
}

static int64_t flat_index(const Shape& shape, std::initializer_list<int64_t> index) {
  PRUNUS_CHECK(index.size() == shape.size(), "index has ", index.size(), " coordinates for shape ",
               shape_str(shape));
  int64_t flat = 0;
  size_t d = 0;
  for (int64_t i : index) {
    PRUNUS_CHECK(i >= 0 && i < shape[d], "index ", i, " out of range in dimension ", d, " of ",
                 shape_str(shape));
    flat = flat * shape[d] + i;
    ++d;
  }
  return flat;
}

double Tensor::at(std::initializer_list<int64_t> index) const {
  const int64_t i = flat_index(shape(), index);
  return dtype() == DType::F32 ? f32()[i] : f64()[i];
}

void Tensor::set(std::initializer_list<int64_t> index, double value) {
  const int64_t i = flat_index(shape(), index);
  if (dtype() == DType::F32)
    f32()[i] = static_cast<float>(value);
  else
    f64()[i] = value;
}

Tensor& Tensor::requires_grad_(bool value) {
  PRUNUS_CHECK(is_leaf() || value, "requires_grad_(false) on a non-leaf tensor: use detach()");
  checked().requires_grad = value;
  return *this;
}

Tensor Tensor::grad() const { return checked().grad ? Tensor(checked().grad) : Tensor(); }

void Tensor::set_grad(const Tensor& grad) {
  if (!grad.defined()) {
    checked().grad.reset();
    return;
  }
  check_same_shape("set_grad", *this, grad);
  checked().grad = grad.impl_ptr();
}

void Tensor::zero_grad() { checked().grad.reset(); }

void Tensor::backward() const {
  PRUNUS_CHECK(numel() == 1, "backward() without a seed needs a one-element tensor, got ",
               shape_str(shape()));
  backward(Tensor::full(shape(), 1.0, dtype()));
}

void Tensor::backward(const Tensor& seed) const { run_backward(*this, seed); }

Tensor& Tensor::set_name(const std::string& name) {
  checked().name = name;
  return *this;
}

void check_same_shape(const char* op, const Tensor& a, const Tensor& b) {
  PRUNUS_CHECK(a.shape() == b.shape(), op, ": shapes ", shape_str(a.shape()), " and ", shape_str(b.shape()),
               " must be equal");
}

void check_dtype_device(const char* op, const Tensor& a, const Tensor& b) {
  PRUNUS_CHECK(a.dtype() == b.dtype(), op, ": dtypes ", dtype_name(a.dtype()), " and ", dtype_name(b.dtype()),
               " differ");
  PRUNUS_CHECK(a.device() == b.device(), op, ": devices ", device_name(a.device()), " and ",
               device_name(b.device()), " differ");
}

void add_into(Tensor& dst, const Tensor& src) {
  check_same_shape("add_into", dst, src);
  check_dtype_device("add_into", dst, src);
  PRUNUS_CHECK(dst.device() == Device::CPU, "add_into on cuda tensors needs the CUDA ops");
  const int64_t n = dst.numel();
  if (dst.dtype() == DType::F32) {
    float* d = dst.f32();
    const float* s = src.f32();
    for (int64_t i = 0; i < n; ++i) d[i] += s[i];
  } else {
    double* d = dst.f64();
    const double* s = src.f64();
    for (int64_t i = 0; i < n; ++i) d[i] += s[i];
  }
}

}  // namespace prunus
