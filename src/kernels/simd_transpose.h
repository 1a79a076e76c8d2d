// In-register 16x16 float transpose (AVX-512), used by the packing routines
// that must turn rows into columns. Internal to src/kernels.
#pragma once
#if defined(__AVX512F__)
#include <immintrin.h>

namespace prunus {
namespace kernels {

// rows[i] holds row i; afterwards rows[j] holds column j.
// The zero-masked forms with a full mask compile to the plain instructions; they
// avoid GCC 12's false "may be used uninitialized" warnings on the plain ones.
inline __m512 unpack_lo_ps(__m512 a, __m512 b) { return _mm512_maskz_unpacklo_ps(0xFFFF, a, b); }
inline __m512 unpack_hi_ps(__m512 a, __m512 b) { return _mm512_maskz_unpackhi_ps(0xFFFF, a, b); }
inline __m512d unpack_lo_pd(__m512d a, __m512d b) { return _mm512_maskz_unpacklo_pd(0xFF, a, b); }
inline __m512d unpack_hi_pd(__m512d a, __m512d b) { return _mm512_maskz_unpackhi_pd(0xFF, a, b); }
#define PRUNUS_SHUFFLE_LANES(a, b, imm) _mm512_maskz_shuffle_f32x4(0xFFFF, a, b, imm)

inline void transpose16x16(__m512 rows[16]) {
  __m512 t[16], u[16], v[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = unpack_lo_ps(rows[2 * i], rows[2 * i + 1]);
    t[2 * i + 1] = unpack_hi_ps(rows[2 * i], rows[2 * i + 1]);
  }
  // Each group of four rows g: u[4g + j] holds column 4L + j of those rows in 128-bit lane L.
  for (int g = 0; g < 4; ++g) {
    const __m512d lo0 = _mm512_castps_pd(t[4 * g]), hi0 = _mm512_castps_pd(t[4 * g + 1]);
    const __m512d lo1 = _mm512_castps_pd(t[4 * g + 2]), hi1 = _mm512_castps_pd(t[4 * g + 3]);
    u[4 * g + 0] = _mm512_castpd_ps(unpack_lo_pd(lo0, lo1));
    u[4 * g + 1] = _mm512_castpd_ps(unpack_hi_pd(lo0, lo1));
    u[4 * g + 2] = _mm512_castpd_ps(unpack_lo_pd(hi0, hi1));
    u[4 * g + 3] = _mm512_castpd_ps(unpack_hi_pd(hi0, hi1));
  }
  for (int j = 0; j < 4; ++j) {
    v[j] = PRUNUS_SHUFFLE_LANES(u[j], u[4 + j], 0x88);
    v[4 + j] = PRUNUS_SHUFFLE_LANES(u[j], u[4 + j], 0xDD);
    v[8 + j] = PRUNUS_SHUFFLE_LANES(u[8 + j], u[12 + j], 0x88);
    v[12 + j] = PRUNUS_SHUFFLE_LANES(u[8 + j], u[12 + j], 0xDD);
  }
  for (int j = 0; j < 4; ++j) {
    rows[j] = PRUNUS_SHUFFLE_LANES(v[j], v[8 + j], 0x88);
    rows[j + 8] = PRUNUS_SHUFFLE_LANES(v[j], v[8 + j], 0xDD);
    rows[j + 4] = PRUNUS_SHUFFLE_LANES(v[4 + j], v[12 + j], 0x88);
    rows[j + 12] = PRUNUS_SHUFFLE_LANES(v[4 + j], v[12 + j], 0xDD);
  }
}

inline __mmask16 first_lanes(int count) {
  if (count >= 16) return 0xFFFF;
  if (count <= 0) return 0;
  return static_cast<__mmask16>((1u << count) - 1u);
}

#undef PRUNUS_SHUFFLE_LANES

}  // namespace kernels
}  // namespace prunus
#endif
