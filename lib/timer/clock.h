// Time for tests: the TSC calibrated against a platform clock, a
// monotonic nanosecond clock, and busy-wait delays.
//
// Contract:
//  - calibrate() runs in platform_init against the ACPI PM timer, else the
//    HPET, else CPUID leaf 0x15/0x16; tsc_source() says which. Until then,
//    and on a machine with none of them, tsc_hz() is 0 and the delays
//    return at once (they are never silently wrong: check tsc_hz()).
//  - The TSC is assumed invariant and synchronised across CPUs, as on
//    every CPU with CPUID.80000007H:EDX[8] (Intel SDM vol.3 §18.17.1);
//    invariant_tsc() says whether the CPU claims it.
//  - Delays wait at least the requested time (they round up) and may wait
//    longer when the vCPU is preempted.
#pragma once

#include <cstdint>

namespace timer {

enum class TscSource : uint8_t { none, pm_timer, hpet, cpuid };
const char* tsc_source_str(TscSource s);

void calibrate();
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

// Spins until `done()` or `timeout_ns` passes; true when done() held.
template <typename F>
bool wait_until(F&& done, uint64_t timeout_ns) {
  const uint64_t end = now_ns() + timeout_ns;
  for (;;) {
    if (done()) return true;
    if (now_ns() >= end) return done();
    asm volatile("pause");
  }
}

}  // namespace timer
