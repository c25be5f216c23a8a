#include "timer/clock.h"

#include "apic/apic.h"
#include "cpu/processor.h"
#include "timer/calibrate.h"
#include "timer/hpet.h"
#include "timer/pmtimer.h"

namespace timer {
namespace {

constexpr uint64_t kNsPerSecond = 1'000'000'000;
constinit uint64_t hz = 0;
constinit TscSource source = TscSource::none;
constinit uint64_t tsc_epoch = 0;
constinit Scale to_ns = {};
constinit Scale from_ns = {};

constexpr size_t kSources = 5;
// The order in which calibrate() considers the references.
constexpr TscSource kOrder[kSources] = {TscSource::pm_timer, TscSource::hpet,
                                        TscSource::hypervisor_leaf, TscSource::cpuid_15h,
                                        TscSource::cpuid_16h};
constinit Attempt attempts[kSources] = {};

uint64_t read_tsc(void*) { return cpu::rdtsc(); }
uint64_t read_pm(void*) { return pm::read(); }
uint64_t read_hpet(void*) { return hpet::counter(); }

// Hypervisor leaf 0x40000010 (VMware's convention, which QEMU/KVM, ACRN
// and others follow): EAX is the TSC rate in kHz. Only when CPUID.1:ECX[31]
// says a hypervisor is there and its leaf 0x40000000 lists 0x40000010;
// never under Hyper-V's signature: its Top Level Functional Specification
// gives the leaves from 0x40000000 other meanings.
Candidate hypervisor_leaf() {
  const cpu::Hypervisor hv = cpu::hypervisor();
  if (hv == cpu::Hypervisor::none) return {.absent = "no hypervisor"};
  if (hv == cpu::Hypervisor::hyperv) return {.absent = "Hyper-V defines no such leaf"};
  const uint32_t max = cpu::cpuid(0x40000000).eax;
  if (max < 0x40000010 || max > 0x400000ff) return {.absent = "the hypervisor lists no such leaf"};
  const uint64_t f = uint64_t(cpu::cpuid(0x40000010).eax) * 1000;
  return {.stated_hz = f, .absent = "the leaf gives 0"};
}

// Intel SDM vol.2A CPUID leaf 15H: TSC = crystal * EBX / EAX, the crystal
// rate in ECX (0 when not enumerated).
Candidate cpuid_15h() {
  if (cpu::cpuid(0).eax < 0x15) return {.absent = "beyond the maximum basic leaf"};
  const cpu::CpuidResult r = cpu::cpuid(0x15);
  if (!r.eax || !r.ebx || !r.ecx) return {.absent = "no crystal rate or ratio enumerated"};
  return {.stated_hz = mul_div(r.ecx, r.ebx, r.eax)};
}

// Leaf 16H EAX: the processor base frequency in MHz, the TSC rate on
// processors with an invariant TSC that lack a crystal rate in 15H.
Candidate cpuid_16h() {
  if (cpu::cpuid(0).eax < 0x16) return {.absent = "beyond the maximum basic leaf"};
  const uint64_t f = uint64_t(cpu::cpuid(0x16).eax & 0xffff) * 1'000'000;
  return {.stated_hz = f, .absent = "the leaf gives 0"};
}

}  // namespace

const char* tsc_source_str(TscSource s) {
  switch (s) {
    case TscSource::none: return "none";
    case TscSource::pm_timer: return "ACPI PM timer";
    case TscSource::hpet: return "HPET";
    case TscSource::hypervisor_leaf: return "hypervisor CPUID leaf 0x40000010";
    case TscSource::cpuid_15h: return "CPUID leaf 0x15";
    case TscSource::cpuid_16h: return "CPUID leaf 0x16";
  }
  return "?";
}

void calibrate() {
  const RefClock pm_clock{Counter{read_pm, nullptr}, pm::bits(), pm::kHz};
  const RefClock hpet_clock{Counter{read_hpet, nullptr}, hpet::counter_64bit() ? 64u : 32u,
                            hpet::frequency()};
  const Candidate candidates[kSources] = {
      pm::present() ? Candidate{.clock = &pm_clock} : Candidate{.absent = pm::absent_reason()},
      hpet::present() ? Candidate{.clock = &hpet_clock}
                      : Candidate{.absent = hpet::absent_reason()},
      hypervisor_leaf(),
      cpuid_15h(),
      cpuid_16h(),
  };
  Outcome outcomes[kSources];
  const size_t used = choose_reference(candidates, kSources, Counter{read_tsc, nullptr},
                                       outcomes, &hz);
  for (size_t i = 0; i < kSources; ++i) attempts[i] = Attempt{kOrder[i], outcomes[i]};
  source = used < kSources ? kOrder[used] : TscSource::none;
  to_ns = make_scale(hz, kNsPerSecond);
  from_ns = make_scale(kNsPerSecond, hz);
  tsc_epoch = cpu::rdtsc();
}

size_t calibration_attempts(const Attempt** out) {
  *out = attempts;
  return kSources;
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

uint64_t apic_timer_hz(uint8_t vector) {
  apic::timer_oneshot(vector, 0xffffffffu, apic::Divide::by1);
  apic::write(apic::Reg::lvt_timer, apic::read(apic::Reg::lvt_timer) | apic::lvt::kMasked);
  const uint64_t t0 = cpu::rdtsc();
  const uint32_t c0 = apic::timer_current();
  mdelay(5);
  const uint32_t c1 = apic::timer_current();
  const uint64_t t1 = cpu::rdtsc();
  apic::timer_stop();
  const uint64_t ns = tsc_to_ns(t1 - t0);
  return ns ? uint64_t(c0 - c1) * 1'000'000'000 / ns : 0;
}

}  // namespace timer
