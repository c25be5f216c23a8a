// Clock arithmetic shared by the guest timer code and host tests: counter
// deltas across wrap-around, frequency ratios without overflow, and the
// fixed-point scale that turns TSC ticks into nanoseconds.
//
// Contract: pure functions, no hardware access, no division by zero (a zero
// divisor yields 0), and no 128-bit division (the guest links no libgcc).
#pragma once

#include <cstddef>
#include <cstdint>

namespace timer {

// Ticks from `from` to `to` on a free-running counter `bits` wide (1..64)
// that wrapped at most once in between.
constexpr uint64_t counter_delta(uint64_t from, uint64_t to, unsigned bits) {
  const uint64_t mask = bits >= 64 ? ~0ull : (1ull << bits) - 1;
  return (to - from) & mask;
}

// a * b / c rounded down, exact while the quotient fits in 64 bits;
// saturates to UINT64_MAX otherwise.
uint64_t mul_div(uint64_t a, uint64_t b, uint64_t c);

// The frequency of a clock that advanced `ticks` while a reference clock of
// `ref_hz` advanced `ref_ticks`.
inline uint64_t frequency_from(uint64_t ticks, uint64_t ref_ticks, uint64_t ref_hz) {
  return mul_div(ticks, ref_hz, ref_ticks);
}

// out = (in * mult) >> shift: converts ticks of `from_hz` into units of
// `to_hz` with a multiply and a shift, no division on the fast path.
struct Scale {
  uint64_t mult = 0;
  unsigned shift = 0;
  uint64_t apply(uint64_t in) const;
};
// The most precise scale whose multiplier fits in 64 bits.
Scale make_scale(uint64_t from_hz, uint64_t to_hz);

// Median of n samples (reorders them); 0 for n == 0. Calibration takes
// several short rounds and keeps the median, so one round disturbed by a
// preempted vCPU does not skew the result.
uint64_t median(uint64_t* v, size_t n);

// True when `measured` lies within `percent` of `expected`.
constexpr bool within_percent(uint64_t measured, uint64_t expected, unsigned percent) {
  const uint64_t slack = expected / 100 * percent + (expected % 100) * percent / 100;
  return measured + slack >= expected && measured <= expected + slack;
}

}  // namespace timer
