// Tensor: a shape, a dtype, a device and a reference-counted contiguous
// storage (NCHW for images). A Tensor is a cheap handle: copies share the
// same TensorImpl, so a parameter held by a module and by the optimizer is one
// object. Autograd state (grad, grad_fn) lives in the impl.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "prunus/error.h"

namespace prunus {

enum class DType : uint8_t { F32 = 0, F64 = 1 };
enum class Device : uint8_t { CPU = 0, CUDA = 1 };
using Shape = std::vector<int64_t>;

// Error when the product overflows 62 bits (a shape read from a file).
int64_t shape_numel(const Shape& shape);
std::string shape_str(const Shape& shape);  // "[3, 5, 7, 9]"
size_t dtype_size(DType dtype);
const char* dtype_name(DType dtype);
const char* device_name(Device device);

class Rng;
struct Node;

// Owns one allocation: 64-byte aligned host memory, or device memory when
// built with CUDA. Host memory is zeroed when `zeroed`, else left as it is
// (recycled blocks hold old values), except that with the environment
// variable PRUNUS_POISON_UNINITIALIZED=1 it is filled with NaN bytes, so that
// code reading memory it never wrote fails loudly (the tests run so).
struct Storage {
  Storage(size_t bytes, Device device, bool zeroed = true);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* data = nullptr;
  size_t bytes = 0;
  Device device = Device::CPU;
};

// While one lives, the host storage that this thread allocates may total at
// most max_bytes; beyond that, Storage throws an Error naming `what`. Bounds
// what a description read from a file may allocate by what the file holds, so
// a 340-byte checkpoint cannot ask for 16 GiB. Scopes nest; the innermost wins.
class HostAllocationLimit {
 public:
  HostAllocationLimit(size_t max_bytes, std::string what);
  ~HostAllocationLimit();
  HostAllocationLimit(const HostAllocationLimit&) = delete;
  HostAllocationLimit& operator=(const HostAllocationLimit&) = delete;
  void take(size_t bytes);  // called by Storage

 private:
  size_t max_bytes_, used_ = 0;
  std::string what_;
  HostAllocationLimit* outer_;
};

struct TensorImpl {
  Shape shape;
  DType dtype = DType::F32;
  Device device = Device::CPU;
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;  // in elements
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;  // accumulated by backward (leaves only)
  std::shared_ptr<Node> grad_fn;     // the op that produced it (non-leaves)
  std::string name;
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // Factories. Every tensor starts contiguous and zero-filled.
  // empty: contents undefined (see Storage), for outputs a kernel overwrites.
  static Tensor empty(const Shape& shape, DType dtype = DType::F32, Device device = Device::CPU);
  static Tensor zeros(const Shape& shape, DType dtype = DType::F32, Device device = Device::CPU);
  static Tensor ones(const Shape& shape, DType dtype = DType::F32);
  static Tensor full(const Shape& shape, double value, DType dtype = DType::F32);
  static Tensor randn(const Shape& shape, Rng& rng, double mean = 0.0, double stddev = 1.0,
                      DType dtype = DType::F32);
  static Tensor uniform(const Shape& shape, Rng& rng, double lo, double hi, DType dtype = DType::F32);
  static Tensor from_vector(const Shape& shape, const std::vector<float>& values);
  static Tensor from_vector_f64(const Shape& shape, const std::vector<double>& values);

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return checked().shape; }
  int ndim() const { return static_cast<int>(shape().size()); }
  int64_t size(int dim) const;  // negative dims count from the end
  int64_t numel() const { return shape_numel(shape()); }
  DType dtype() const { return checked().dtype; }
  Device device() const { return checked().device; }

  // Typed access to the first element; throws if T does not match dtype.
  template <typename T>
  T* data() const;
  float* f32() const { return data<float>(); }
  double* f64() const { return data<double>(); }
  void* raw_data() const;

  // A new handle on the same storage with another shape (-1 is inferred).
  // Not recorded by autograd: use ops::reshape inside a model.
  Tensor view(const Shape& shape) const;
  Tensor clone() const;  // deep copy; a leaf with requires_grad=false
  Tensor to(DType dtype) const;
  Tensor to(Device device) const;
  Tensor detach() const;  // same storage, no autograd history
  void fill_(double value);
  void copy_(const Tensor& source);  // same shape, any dtype
  std::vector<float> to_vector() const;
  std::vector<double> to_vector_f64() const;
  double item() const;  // the single element of a one-element tensor
  double at(std::initializer_list<int64_t> index) const;
  void set(std::initializer_list<int64_t> index, double value);

  // Autograd.
  bool requires_grad() const { return checked().requires_grad; }
  Tensor& requires_grad_(bool value = true);
  Tensor grad() const;  // undefined Tensor if no gradient yet
  void set_grad(const Tensor& grad);
  void zero_grad();  // drops the accumulated gradient
  const std::shared_ptr<Node>& grad_fn() const { return checked().grad_fn; }
  bool is_leaf() const { return grad_fn() == nullptr; }
  void backward() const;  // this must have one element; seeds with 1
  void backward(const Tensor& seed) const;

  const std::string& name() const { return checked().name; }
  Tensor& set_name(const std::string& name);

  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool same_as(const Tensor& other) const { return impl_ == other.impl_; }

 private:
  TensorImpl& checked() const;
  std::shared_ptr<TensorImpl> impl_;
};

// Checks used by every op; the message names the op.
void check_same_shape(const char* op, const Tensor& a, const Tensor& b);
void check_dtype_device(const char* op, const Tensor& a, const Tensor& b);

// dst += src, elementwise, same shape and dtype.
void add_into(Tensor& dst, const Tensor& src);

}  // namespace prunus
