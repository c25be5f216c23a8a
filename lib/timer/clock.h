// Time for tests: the TSC calibrated against a platform clock, a
// monotonic nanosecond clock, and busy-wait delays.
//
// Contract:
//  - calibrate() runs in bring_up_platform against the first reference that
//    works, in this order: the ACPI PM timer, the HPET (each measured, and
//    refused when it does not tick: lib/timer/reference.h), then the rates
//    CPUID states: the hypervisor's leaf 0x40000010, leaf 0x15, leaf 0x16.
//    tsc_source() says which; calibration_attempts() says why each one
//    before it was not used. Until then, and on a machine with none of
//    them, tsc_hz() is 0 and the delays return at once (they are never
//    silently wrong: check tsc_hz()); wait_until() then counts PAUSEs.
//  - The TSC is assumed invariant and synchronised across CPUs, as on
//    every CPU with CPUID.80000007H:EDX[8] (Intel SDM vol.3 §18.17.1);
//    invariant_tsc() says whether the CPU claims it.
//  - Delays wait at least the requested time (they round up) and may wait
//    longer when the vCPU is preempted.
#pragma once

#include <cstddef>
#include <cstdint>

#include "timer/reference.h"

namespace timer {

enum class TscSource : uint8_t { none, pm_timer, hpet, hypervisor_leaf, cpuid_15h, cpuid_16h };
const char* tsc_source_str(TscSource s);

void calibrate();

// Every reference in calibrate()'s order, and what became of it.
struct Attempt {
  TscSource source;
  Outcome outcome;
};
size_t calibration_attempts(const Attempt** out);
uint64_t tsc_hz();
TscSource tsc_source();
bool invariant_tsc();

// Nanoseconds since calibrate(), from the TSC.
uint64_t now_ns();
uint64_t tsc_to_ns(uint64_t ticks);
uint64_t ns_to_tsc(uint64_t ns);

void ndelay(uint64_t ns);
void udelay(uint64_t us);
void mdelay(uint64_t ms);

// The local APIC timer's rate at divide-by-1, in ticks per second,
// measured against the TSC over 5 ms with a masked one-shot count on
// `vector` (0 if the TSC did not move). For tests that program the timer
// in time rather than ticks.
uint64_t apic_timer_hz(uint8_t vector);

// Spins until `done()` or `timeout_ns` passes; true when done() held.
// Without a calibrated TSC the bound is one PAUSE per nanosecond, which
// errs on the long side (a PAUSE takes several cycles).
template <typename F>
bool wait_until(F&& done, uint64_t timeout_ns) {
  if (tsc_hz() == 0) {
    for (uint64_t i = 0; i < timeout_ns; ++i) {
      if (done()) return true;
      asm volatile("pause");
    }
    return done();
  }
  const uint64_t end = now_ns() + timeout_ns;
  for (;;) {
    if (done()) return true;
    if (now_ns() >= end) return done();
    asm volatile("pause");
  }
}

}  // namespace timer
