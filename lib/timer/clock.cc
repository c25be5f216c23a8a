#include "timer/clock.h"

#include "cpu/processor.h"
#include "timer/calibrate.h"
#include "timer/hpet.h"
#include "timer/pmtimer.h"

namespace timer {
namespace {

constexpr uint64_t kNsPerSecond = 1'000'000'000;
constexpr unsigned kRounds = 5;
constexpr uint64_t kRoundNs = 4'000'000;

constinit uint64_t hz = 0;
constinit TscSource source = TscSource::none;
constinit uint64_t tsc_epoch = 0;
constinit Scale to_ns = {};
constinit Scale from_ns = {};

// One round: TSC ticks while the reference advanced at least `ref_ticks`,
// reported as the TSC frequency. Each reference read is bracketed by two
// TSC reads so the cost of a slow (port I/O, MMIO) read is split evenly.
template <typename Read>
uint64_t round_against(Read read_ref, unsigned ref_bits, uint64_t ref_hz) {
  const uint64_t want = mul_div(ref_hz, kRoundNs, kNsPerSecond);
  uint64_t t0 = cpu::rdtsc();
  const uint64_t r0 = read_ref();
  uint64_t t1 = cpu::rdtsc();
  uint64_t r1, t2, t3;
  do {
    t2 = cpu::rdtsc();
    r1 = read_ref();
    t3 = cpu::rdtsc();
  } while (counter_delta(r0, r1, ref_bits) < want);
  const uint64_t tsc = (t2 + t3) / 2 - (t0 + t1) / 2;
  return frequency_from(tsc, counter_delta(r0, r1, ref_bits), ref_hz);
}

template <typename Read>
uint64_t calibrate_against(Read read_ref, unsigned ref_bits, uint64_t ref_hz) {
  uint64_t samples[kRounds];
  for (auto& s : samples) s = round_against(read_ref, ref_bits, ref_hz);
  return median(samples, kRounds);
}

// Intel SDM vol.2A CPUID leaf 15H (TSC/crystal ratio) and 16H (base MHz).
uint64_t cpuid_tsc_hz() {
  const uint32_t max = cpu::cpuid(0).eax;
  if (max >= 0x15) {
    const cpu::CpuidResult r = cpu::cpuid(0x15);
    if (r.eax && r.ebx && r.ecx) return mul_div(r.ecx, r.ebx, r.eax);
  }
  if (max >= 0x16) {
    const uint32_t mhz = cpu::cpuid(0x16).eax & 0xffff;
    if (mhz) return uint64_t(mhz) * 1'000'000;
  }
  return 0;
}

}  // namespace

const char* tsc_source_str(TscSource s) {
  switch (s) {
    case TscSource::none: return "none";
    case TscSource::pm_timer: return "ACPI PM timer";
    case TscSource::hpet: return "HPET";
    case TscSource::cpuid: return "CPUID";
  }
  return "?";
}

void calibrate() {
  if (pm::present()) {
    hz = calibrate_against(pm::read, pm::bits(), pm::kHz);
    source = TscSource::pm_timer;
  } else if (hpet::present()) {
    hz = calibrate_against(hpet::counter, hpet::counter_64bit() ? 64 : 32, hpet::frequency());
    source = TscSource::hpet;
  } else if (uint64_t c = cpuid_tsc_hz()) {
    hz = c;
    source = TscSource::cpuid;
  }
  if (hz == 0) source = TscSource::none;
  to_ns = make_scale(hz, kNsPerSecond);
  from_ns = make_scale(kNsPerSecond, hz);
  tsc_epoch = cpu::rdtsc();
}

uint64_t tsc_hz() { return hz; }
TscSource tsc_source() { return source; }

bool invariant_tsc() {
  if (cpu::cpuid(0x80000000).eax < 0x80000007) return false;
  return cpu::cpuid(0x80000007).edx & (1u << 8);
}

uint64_t tsc_to_ns(uint64_t ticks) { return to_ns.apply(ticks); }
uint64_t ns_to_tsc(uint64_t ns) { return from_ns.apply(ns) + 1; }

uint64_t now_ns() { return tsc_to_ns(cpu::rdtsc() - tsc_epoch); }

void ndelay(uint64_t ns) {
  if (hz == 0) return;
  const uint64_t start = cpu::rdtsc();
  const uint64_t ticks = ns_to_tsc(ns);
  while (cpu::rdtsc() - start < ticks) cpu::pause();
}

void udelay(uint64_t us) { ndelay(us * 1000); }
void mdelay(uint64_t ms) { ndelay(ms * 1'000'000); }

}  // namespace timer
