// Shared helpers of the GPU tests: device buffers, random data, error norms.
#pragma once
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "prunus/cuda/kernels.h"
#include "prunus/cuda/runtime.h"
#include "prunus/device_memory.h"
#include "prunus/error.h"
#include "prunus/rng.h"

namespace prunus_test {

using prunus::kernels::BatchNormShape;
using prunus::kernels::Conv2dShape;
using prunus::kernels::Pool2dShape;

// Device memory of `count` elements of T, freed on destruction.
template <typename T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t count) : count_(count), data_(static_cast<T*>(prunus::device_alloc(bytes()))) {}
  explicit DeviceBuffer(const std::vector<T>& values) : DeviceBuffer(values.size()) { upload(values); }
  ~DeviceBuffer() { prunus::device_free(data_, bytes()); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  T* get() const { return data_; }
  size_t size() const { return count_; }
  size_t bytes() const { return count_ * sizeof(T); }
  void upload(const std::vector<T>& values) {
    REQUIRE(values.size() == count_);
    prunus::copy_host_to_device(data_, values.data(), bytes());
  }
  std::vector<T> download() const {
    std::vector<T> values(count_);
    prunus::copy_device_to_host(values.data(), data_, bytes());
    return values;
  }

 private:
  size_t count_;
  T* data_;
};

// A float buffer filled with NaN, so that an element a kernel forgets to write shows.
inline DeviceBuffer<float>* poisoned(DeviceBuffer<float>& buffer) {
  prunus::cuda::fill(buffer.get(), std::numeric_limits<float>::quiet_NaN(), int64_t(buffer.size()));
  return &buffer;
}

inline std::vector<float> random_values(size_t count, prunus::Rng& rng, double lo = -1.0, double hi = 1.0) {
  std::vector<float> v(count);
  for (float& x : v) x = float(rng.uniform(lo, hi));
  return v;
}

inline std::vector<double> to_double(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }

// max |got - reference| / max |reference| (the absolute error when the
// reference is all zero); infinity when got holds a NaN.
inline double relative_error(const std::vector<float>& got, const std::vector<double>& reference) {
  REQUIRE(got.size() == reference.size());
  double worst = 0, scale = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(got[i]) != std::isnan(reference[i])) return std::numeric_limits<double>::infinity();
    if (std::isnan(got[i])) continue;
    worst = std::max(worst, std::fabs(double(got[i]) - reference[i]));
    scale = std::max(scale, std::fabs(reference[i]));
  }
  return scale > 0 ? worst / scale : worst;
}

inline double relative_error(const std::vector<float>& got, const std::vector<float>& reference) {
  return relative_error(got, to_double(reference));
}

}  // namespace prunus_test
