// Deterministic, portable random numbers (xoshiro256** seeded by splitmix64).
// The standard library's distributions differ between implementations; ours do
// not, and the whole state fits in a checkpoint.
#pragma once
#include <array>
#include <cstdint>

namespace prunus {

class Rng {
 public:
  explicit Rng(uint64_t seed = 0) { reseed(seed); }
  void reseed(uint64_t seed);
  uint64_t next_u64();
  // Uniform in [0, 1).
  double uniform();
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Standard normal (Box-Muller, no cached spare so the state is only `state`).
  double normal();
  // Uniform integer in [0, n).
  uint64_t below(uint64_t n);
  std::array<uint64_t, 4> state;
};

}  // namespace prunus
