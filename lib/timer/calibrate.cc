#include "timer/calibrate.h"

namespace timer {

namespace {

// 128-by-64 division of (hi:lo) by d, for hi < d (so the quotient fits).
uint64_t div128(uint64_t hi, uint64_t lo, uint64_t d) {
#if defined(__x86_64__)
  uint64_t q, r;
  asm("divq %4" : "=a"(q), "=d"(r) : "a"(lo), "d"(hi), "rm"(d));
  return q;
#else
  // Restoring division, one bit at a time.
  uint64_t q = 0;
  for (int i = 63; i >= 0; --i) {
    const bool carry = hi >> 63;
    hi = hi << 1 | lo >> 63;
    lo <<= 1;
    if (carry || hi >= d) {
      hi -= d;
      q |= 1ull << i;
    }
  }
  return q;
#endif
}

}  // namespace

uint64_t mul_div(uint64_t a, uint64_t b, uint64_t c) {
  if (c == 0) return 0;
  const unsigned __int128 p = static_cast<unsigned __int128>(a) * b;
  const uint64_t hi = static_cast<uint64_t>(p >> 64);
  const uint64_t lo = static_cast<uint64_t>(p);
  if (hi >= c) return ~0ull;
  return div128(hi, lo, c);
}

uint64_t Scale::apply(uint64_t in) const {
  const unsigned __int128 p = static_cast<unsigned __int128>(in) * mult;
  return static_cast<uint64_t>(p >> shift);
}

Scale make_scale(uint64_t from_hz, uint64_t to_hz) {
  if (from_hz == 0) return {};
  // The product in apply() is 128 bits wide, so only the multiplier must
  // fit; a 32-bit shift keeps nine significant digits for any clock rate
  // between 1 Hz and 4 GHz.
  for (unsigned shift = 32; shift > 0; --shift) {
    const unsigned __int128 num = static_cast<unsigned __int128>(to_hz) << shift;
    const uint64_t hi = static_cast<uint64_t>(num >> 64);
    if (hi >= from_hz) continue;
    return Scale{div128(hi, static_cast<uint64_t>(num), from_hz), shift};
  }
  return Scale{to_hz / from_hz, 0};
}

uint64_t median(uint64_t* v, size_t n) {
  if (n == 0) return 0;
  for (size_t i = 1; i < n; ++i)
    for (size_t j = i; j > 0 && v[j - 1] > v[j]; --j) {
      const uint64_t t = v[j];
      v[j] = v[j - 1];
      v[j - 1] = t;
    }
  return v[n / 2];
}

}  // namespace timer
