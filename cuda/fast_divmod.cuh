// Division by a run-time constant as a multiply and a shift (Granlund and
// Montgomery's method, as CUTLASS's FastDivmod): the implicit-GEMM loaders
// split flat indices into (image, row, column) for every element they load,
// and a hardware-less integer division costs about twenty instructions.
// Valid for dividends in [0, 2^31) and divisors in [1, 2^31).
#pragma once
#include "host_device.cuh"

namespace prunus {
namespace cuda {

struct FastDivmod {
  int divisor = 1;
  uint32_t multiplier = 0;
  uint32_t shift = 0;

  FastDivmod() = default;
  // Host side; the caller checks divisor >= 1.
  explicit FastDivmod(int d) : divisor(d) {
    if (d <= 1) return;  // divisor 1: quotient = dividend (multiplier unused)
    int ceil_log2 = 0;
    while ((uint64_t(1) << ceil_log2) < uint64_t(d)) ++ceil_log2;
    const int p = 31 + ceil_log2;
    multiplier = static_cast<uint32_t>(((uint64_t(1) << p) + uint64_t(d) - 1) / uint64_t(d));
    shift = static_cast<uint32_t>(p - 32);
  }

  PRUNUS_HD int divide(int x) const {
    return divisor == 1 ? x : static_cast<int>(multiply_high(static_cast<uint32_t>(x), multiplier) >> shift);
  }
  PRUNUS_HD void divmod(int x, int& quotient, int& remainder) const {
    quotient = divide(x);
    remainder = x - quotient * divisor;
  }
};

}  // namespace cuda
}  // namespace prunus
