// Lets a header be compiled both by nvcc (device code) and by the host C++
// compiler, so that the tile logic of the implicit-GEMM kernels can also run
// on the CPU, in an emulator that the tests use where no GPU is visible.
#pragma once
#include <cstdint>

#ifdef __CUDACC__
#define PRUNUS_HD __host__ __device__ __forceinline__
// nvcc checks that a __host__ __device__ function calls only functions it may
// call on both sides; the block driver is a template instantiated with a
// device-only executor on the GPU and a host-only one in the emulator.
#define PRUNUS_HD_TEMPLATE _Pragma("nv_exec_check_disable")
#else
#define PRUNUS_HD inline
#define PRUNUS_HD_TEMPLATE
#endif
// Full unrolling keeps the per-thread tile arrays in registers (a run-time
// index would move them to local memory); only the device pass knows the pragma.
#ifdef __CUDA_ARCH__
#define PRUNUS_UNROLL _Pragma("unroll")
#else
#define PRUNUS_UNROLL
#endif

namespace prunus {
namespace cuda {

// High 32 bits of the 64-bit product.
PRUNUS_HD uint32_t multiply_high(uint32_t a, uint32_t b) {
#ifdef __CUDA_ARCH__
  return __umulhi(a, b);
#else
  return static_cast<uint32_t>((static_cast<uint64_t>(a) * b) >> 32);
#endif
}

// Four floats read with one 16-byte load on the GPU. The host version (the
// emulator) aborts on a misaligned address, which the GPU would fault on.
struct Float4 {
  float x, y, z, w;
};
PRUNUS_HD Float4 load_float4(const float* p) {
#ifdef __CUDA_ARCH__
  const float4 v = *reinterpret_cast<const float4*>(p);
  return {v.x, v.y, v.z, v.w};
#else
  if (reinterpret_cast<uintptr_t>(p) % 16 != 0) __builtin_trap();
  return {p[0], p[1], p[2], p[3]};
#endif
}

PRUNUS_HD void store_float4(float* p, const Float4& v) {
#ifdef __CUDA_ARCH__
  *reinterpret_cast<float4*>(p) = make_float4(v.x, v.y, v.z, v.w);
#else
  if (reinterpret_cast<uintptr_t>(p) % 16 != 0) __builtin_trap();
  p[0] = v.x, p[1] = v.y, p[2] = v.z, p[3] = v.w;
#endif
}

template <typename T>
PRUNUS_HD T min_of(T a, T b) { return a < b ? a : b; }
template <typename T>
PRUNUS_HD T max_of(T a, T b) { return a < b ? b : a; }

}  // namespace cuda
}  // namespace prunus
