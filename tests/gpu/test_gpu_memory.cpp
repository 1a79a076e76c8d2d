// Device memory: the caching allocator (zero-filled, reuse by size class),
// checked copies, Tensor on Device::CUDA, and errors that name what went wrong.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "gpu_test_helpers.h"
#include "prunus/cuda/kernels.h"
#include "prunus/cuda/runtime.h"
#include "prunus/device_memory.h"
#include "prunus/rng.h"
#include "prunus/tensor.h"

using namespace prunus;
using namespace prunus_test;

TEST_SUITE("gpu_memory") {
  TEST_CASE("allocations are zero-filled, also when a cached block is reused") {
    CHECK(cuda_built());
    Rng rng(1);
    const size_t count = 1237;
    void* first = nullptr;
    {
      DeviceBuffer<float> buffer(count);
      first = buffer.get();
      for (float v : buffer.download()) REQUIRE(v == 0.0f);
      buffer.upload(random_values(count, rng, 1.0, 2.0));  // dirty it before it goes back to the cache
    }
    const size_t cached = cuda::cached_device_bytes();
    CHECK(cached >= count * sizeof(float));
    DeviceBuffer<float> again(count + 3);  // same size class
    CHECK(static_cast<void*>(again.get()) == first);
    CHECK(cuda::cached_device_bytes() < cached);
    for (float v : again.download()) REQUIRE(v == 0.0f);
  }

  TEST_CASE("copies host -> device -> device -> host round-trip exactly") {
    Rng rng(2);
    const std::vector<float> values = random_values(4099, rng);
    DeviceBuffer<float> a(values), b(values.size());
    copy_device_to_device(b.get(), a.get(), b.bytes());
    CHECK(b.download() == values);
    CHECK_NOTHROW(copy_host_to_device(a.get(), values.data(), 0));  // zero bytes: nothing to do
  }

  TEST_CASE("Tensor moves to the GPU and back") {
    Rng rng(3);
    Tensor host = Tensor::randn({3, 5, 7, 9}, rng);
    Tensor device = host.to(Device::CUDA);
    CHECK(device.device() == Device::CUDA);
    Tensor back = device.to(Device::CPU);
    CHECK(back.to_vector() == host.to_vector());
    Tensor zeros = Tensor::zeros({5, 3}, DType::F32, Device::CUDA).to(Device::CPU);
    for (float v : zeros.to_vector()) CHECK(v == 0.0f);
  }

  TEST_CASE("released cache goes back to the driver; errors name the call") {
    { DeviceBuffer<float> scratch_block(100000); }
    CHECK(cuda::cached_device_bytes() > 0);
    cuda::release_cached_device_memory();
    CHECK(cuda::cached_device_bytes() == 0);
    std::vector<float> host(4);
    CHECK_THROWS_AS(copy_host_to_device(nullptr, host.data(), 16), Error);
    try {
      copy_device_to_host(host.data(), nullptr, 16);
      FAIL("copy from a null device pointer did not throw");
    } catch (const Error& e) {
      CHECK(std::string(e.what()).find("copy_device_to_host") != std::string::npos);
    }
    CHECK(!cuda::device_description().empty());
    CHECK(cuda::multiprocessor_count() > 0);
    CHECK_NOTHROW(cuda::synchronize());
  }
}
