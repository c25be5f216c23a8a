// vmexit: what each kind of exit to the hypervisor costs, in TSC cycles. A
// measurement, not a check of behaviour: each case runs one operation that
// a hypervisor has to intercept or emulate, many times, and reports the
// median cost per operation as an INFO line and as a line of its own,
//   BENCH <name> <cycles>
// for the runner's logs, so that two runs (two hypervisors, two builds)
// can be compared. The cases: CPUID, which exits unconditionally in VMX
// non-root operation (Intel SDM vol.3C "VMX Non-Root Operation",
// "Instructions That Cause VM Exits Unconditionally") and is intercepted
// under SVM (AMD APM vol.2 §15.9 "Instruction Intercepts"); a hypercall,
// VMCALL on Intel and VMMCALL on AMD and Hygon (SDM vol.2B "VMCALL", APM
// vol.3 "VMMCALL"), with a call number no hypervisor assigns; a port read
// of the ACPI PM timer (ACPI 6.5 §4.8.3.3), which the device model answers;
// a read of the local APIC's version register through its MMIO page, and
// through its MSR in x2APIC mode (SDM vol.3 §11.4.1, §11.12.1.2); a MOV to
// CR8, the task-priority register (SDM vol.3 §11.8.6.1); a write of
// IA32_TSC_DEADLINE with the timer in TSC-deadline mode (SDM vol.3
// §11.5.4.1), which arms a host timer; a self-IPI from send to handled,
// through the ICR shorthand or the x2APIC SELF IPI register (SDM vol.3
// §11.6.1, §11.12.11); and a fixed IPI to CPU 1, halted while idle, whose
// handler answers through memory, from send to answer. The cycles are TSC
// ticks (under QEMU's TCG, the host's). Each sample times a batch of
// operations, behind LFENCE so that the TSC reads do not pass them; a case
// takes samples for a fixed time, at least kMinSamples and at most
// kMaxSamples of them. A case PASSes when it ran and its median lies above
// 0 and below 10 ms; a case that cannot run here is a SKIP that says why:
// the CPUID bit it needs (x2APIC, TSC-deadline), a second CPU, or a
// hypercall instruction that raises #UD because nothing handles it (as
// under QEMU's TCG with no hypervisor beneath: VMCALL outside VMX
// operation, VMMCALL when not intercepted, SDM vol.2B "VMCALL", APM vol.3
// "VMMCALL"). The APIC accessors of lib/apic read IA32_APIC_BASE on every
// call to learn the mode, an exit of its own, so the timed paths touch the
// registers directly.
#include <cstdint>

#include "apic/apic.h"
#include "cpu/exceptions.h"
#include "cpu/processor.h"
#include "rt/console.h"
#include "rt/expect.h"
#include "rt/report.h"
#include "smp/smp.h"
#include "timer/calibrate.h"
#include "timer/clock.h"
#include "timer/pmtimer.h"

namespace {

using cpu::feature::kTscDeadline;
using cpu::feature::kX2apic;

constexpr unsigned kMaxSamples = 1001;  // odd, so that the median is one sample
constexpr unsigned kMinSamples = 31;
constexpr uint64_t kCaseTimeNs = 200'000'000;
constexpr uint64_t kCaseMaxTimeNs = 1'000'000'000;
// Operations per sample where one operation is one exit; the interrupt
// cases wait for each delivery and time one per sample.
constexpr unsigned kBatch = 8;
// A median at or above this is not the cost of one exit but of something
// else (a preempted vCPU in every sample, a clock that is wrong).
constexpr uint64_t kSaneMaxNs = 10'000'000;
constexpr uint64_t kSaneMaxCyclesUncalibrated = 100'000'000;
// How long an interrupt may take to arrive before the case gives up.
constexpr uint64_t kDeliveryTimeoutNs = 100'000'000;
constexpr uint64_t kDeliveryMaxPolls = 100'000'000;  // without a calibrated TSC
// Far enough ahead that the armed deadline never fires while measured.
constexpr uint64_t kDeadlineAheadCycles = 1ull << 40;
constexpr uint8_t kSelfIpiVector = 0x60;
constexpr uint8_t kIpiVector = 0x61;
constexpr uint8_t kTimerVector = 0x62;
// The hypercall's number in RAX: unassigned by KVM, Xen and Hyper-V, so a
// hypervisor that answers it returns an error and changes nothing.
constexpr uint64_t kUnassignedHypercall = 0x7e5701;

// ---- timing ----

inline uint64_t stamp() {
  uint32_t lo, hi;
  asm volatile("lfence; rdtsc; lfence" : "=a"(lo), "=d"(hi)::"memory");
  return lo | uint64_t(hi) << 32;
}

struct Measurement {
  uint64_t median = 0;
  unsigned samples = 0;
  const char* error = nullptr;  // the case broke off: why
};

// Times `op` (which returns false when it broke off) in samples of `batch`
// runs each, after one untimed run that warms caches and lazy host paths.
template <typename Op>
Measurement measure(unsigned batch, Op&& op) {
  static uint64_t samples[kMaxSamples];
  Measurement m;
  if (!op()) {
    m.error = "the first, untimed run broke off";
    return m;
  }
  const uint64_t start = timer::now_ns();
  unsigned n = 0;
  while (n < kMaxSamples) {
    const uint64_t elapsed = timer::now_ns() - start;
    if ((n >= kMinSamples && elapsed >= kCaseTimeNs) || elapsed >= kCaseMaxTimeNs) break;
    bool ok = true;
    const uint64_t t0 = stamp();
    for (unsigned k = 0; k < batch && ok; ++k) ok = op();
    const uint64_t t1 = stamp();
    if (!ok) {
      m.samples = n;
      m.error = "an operation broke off while being timed";
      return m;
    }
    samples[n++] = (t1 - t0) / batch;
  }
  m.samples = n;
  if (n < kMinSamples) {
    m.error = "too few samples in the time allowed";
    return m;
  }
  m.median = timer::median(samples, n);
  return m;
}

uint64_t sane_max_cycles() {
  return timer::tsc_hz() ? timer::ns_to_tsc(kSaneMaxNs) : kSaneMaxCyclesUncalibrated;
}

void report_measurement(const char* name, const char* what, const Measurement& m) {
  if (m.error) {
    report_fail("%s: %s (%s, after %u samples)", name, what, m.error, m.samples);
    return;
  }
  const uint64_t max = sane_max_cycles();
  const bool sane = m.median > 0 && m.median < max;
  report_info("%s: %s: %lu cycles (median of %u samples)", name, what, m.median, m.samples);
  // The machine-readable line starts at column 0 and carries no prefix.
  if (sane) printf("BENCH %s %lu\n", name, m.median);
  report(sane, "%s: median %lu cycles, above 0 and below %lu", name, m.median, max);
}

// Spins until `counter` moves off `before`, for a bounded time.
bool wait_change(const volatile uint32_t& counter, uint32_t before) {
  if (timer::tsc_hz() == 0) {
    for (uint64_t i = 0; i < kDeliveryMaxPolls; ++i) {
      if (counter != before) return true;
      cpu::pause();
    }
    return counter != before;
  }
  const uint64_t end = cpu::rdtsc() + timer::ns_to_tsc(kDeliveryTimeoutNs);
  while (counter == before) {
    if (cpu::rdtsc() >= end) return counter != before;
    cpu::pause();
  }
  return true;
}

// ---- the local APIC, touched directly ----

struct LocalApic {
  bool x2;
  uintptr_t mmio;  // xAPIC register page

  volatile uint32_t& reg(apic::Reg r) const {
    return *reinterpret_cast<volatile uint32_t*>(mmio + static_cast<uint32_t>(r));
  }
  uint32_t read(apic::Reg r) const {
    if (x2) return static_cast<uint32_t>(cpu::rdmsr(apic::x2apic_msr(static_cast<uint32_t>(r))));
    return reg(r);
  }
  void eoi() const {
    if (x2)
      cpu::wrmsr(apic::x2apic_msr(static_cast<uint32_t>(apic::Reg::eoi)), 0);
    else
      reg(apic::Reg::eoi) = 0;
  }
  void send_self(uint8_t vector) const {
    if (x2) {
      cpu::wrmsr(apic::x2apic_msr(static_cast<uint32_t>(apic::Reg::self_ipi)), vector);
    } else {
      reg(apic::Reg::icr_low) = static_cast<uint32_t>(apic::icr::kShorthandSelf |
                                                      apic::icr::kFixed | apic::icr::kAssert) |
                                vector;
    }
  }
  // The previous IPI has been handled by the time this is called again,
  // so it has left the ICR (SDM vol.3 §11.6.1, Delivery Status).
  void send_fixed(uint32_t dest, uint8_t vector) const {
    const uint64_t cmd = apic::icr::kFixed | apic::icr::kAssert | vector;
    if (x2) {
      cpu::wrmsr(apic::x2apic_msr(static_cast<uint32_t>(apic::Reg::icr_low)),
                 uint64_t(dest) << apic::icr::kX2apicDestShift | cmd);
    } else {
      reg(apic::Reg::icr_high) = dest << (apic::icr::kXapicDestShift - 32);
      reg(apic::Reg::icr_low) = static_cast<uint32_t>(cmd);
    }
  }
};

// Every CPU is in the system's APIC mode; the handlers read this.
constinit LocalApic lapic{};

void use_current_apic_mode() {
  lapic.x2 = apic::mode() == apic::Mode::x2apic;
  lapic.mmio = lapic.x2 ? 0 : static_cast<uintptr_t>(apic::xapic_base());
}

// An integrated APIC's version is 1xH (SDM vol.3 §11.4.8): what the read
// returned is the APIC's register and not some other page.
bool plausible_version(uint32_t v) { return (v & 0xff) >= 0x10 && (v & 0xff) <= 0x1f; }

// ---- the cases ----

void case_cpuid() {
  report_measurement("cpuid", "CPUID leaf 0", measure(kBatch, [] {
                       (void)cpu::cpuid(0);
                       return true;
                     }));
}

// VMCALL and VMMCALL are the hypercall instructions of KVM, Xen and
// Hyper-V; RAX holds the number, the other registers may carry arguments
// and come back changed (Xen's debug builds poison them), so all are
// clobbered.
template <bool kAmd>
bool hypercall() {
  uint64_t rax = kUnassignedHypercall;
  if constexpr (kAmd)
    asm volatile("vmmcall"
                 : "+a"(rax)
                 :
                 : "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory");
  else
    asm volatile("vmcall"
                 : "+a"(rax)
                 :
                 : "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory");
  return true;
}

template <typename Call>
void hypercall_case(const char* name, const char* insn, Call call) {
  char buf[32];
  const ExInfo ex = catch_fault([&] { (void)call(); });
  if (ex == ExInfo(Vec::UD)) {
    report_skip("%s: %s raises #UD: no hypervisor handles it here (CPUID hypervisor: %s)", name,
                insn, cpu::hypervisor_str(cpu::hypervisor()));
    return;
  }
  if (ex) {
    report_fail("%s: %s raised %s instead of returning", name, insn,
                exinfo_str(ex, buf, sizeof buf));
    return;
  }
  report_measurement(name, insn, measure(kBatch, call));
}

void case_hypercall() {
  const cpu::Vendor v = cpu::vendor();
  if (v == cpu::Vendor::intel) {
    hypercall_case("vmcall", "VMCALL", hypercall<false>);
  } else if (v == cpu::Vendor::amd || v == cpu::Vendor::hygon) {
    hypercall_case("vmmcall", "VMMCALL", hypercall<true>);
  } else {
    report_skip("hypercall: vendor %s: neither VMCALL (Intel) nor VMMCALL (AMD) is its own",
                cpu::vendor_str(v));
  }
}

void case_pm_timer() {
  if (!timer::pm::present()) {
    report_skip("pmtimer_inl: no PM timer: %s", timer::pm::absent_reason());
    return;
  }
  if (!timer::pm::io()) {
    report_skip("pmtimer_inl: the FADT's PM timer is memory-mapped at 0x%lx, not a port",
                timer::pm::address());
    return;
  }
  const uint16_t port = static_cast<uint16_t>(timer::pm::address());
  report_measurement("pmtimer_inl", "IN from the PM timer port", measure(kBatch, [port] {
                       (void)cpu::inl(port);
                       return true;
                     }));
}

void case_apic_mmio() {
  const uint32_t v = lapic.reg(apic::Reg::version);
  if (!plausible_version(v)) {
    report_fail("apic_mmio_read: the version register reads 0x%x, not an integrated APIC's", v);
    return;
  }
  report_measurement("apic_mmio_read", "read of the APIC version register (MMIO)",
                     measure(kBatch, [v] {
                       const uint32_t r = lapic.reg(apic::Reg::version);
                       return r == v;
                     }));
}

void case_x2apic_msr() {
  const uint32_t msr = apic::x2apic_msr(static_cast<uint32_t>(apic::Reg::version));
  const uint32_t v = static_cast<uint32_t>(cpu::rdmsr(msr));
  if (!plausible_version(v)) {
    report_fail("x2apic_msr_read: the version MSR reads 0x%x, not an integrated APIC's", v);
    return;
  }
  report_measurement("x2apic_msr_read", "RDMSR of the x2APIC version register",
                     measure(kBatch, [&] {
                       (void)cpu::rdmsr(msr);
                       return true;
                     }));
}

// Whichever of the two APIC interfaces the system is not in, when the CPU
// can reach it. Runs last: it changes the BSP's APIC mode.
void case_other_apic_mode() {
  if (!lapic.x2) {
    if (!cpu::has(kX2apic)) {
      report_skip("x2apic_msr_read: %s is clear", kX2apic.name);
      return;
    }
    if (!apic::set_mode(apic::Mode::x2apic)) {
      report_fail("x2apic_msr_read: the APIC did not enter x2APIC mode");
      return;
    }
    // The way back to xAPIC leads through the disabled state, which QEMU's
    // TCG cannot leave; this runs last, so the BSP stays in x2APIC mode.
    apic::init_this_cpu(true);
    use_current_apic_mode();
    case_x2apic_msr();
    return;
  }
  // From x2APIC the only way to xAPIC is through the disabled state
  // (SDM vol.3 §11.12.5, Figure 11-27).
  if (known_tcg_difference("a globally disabled APIC cannot be enabled again")) {
    report_skip("apic_mmio_read: the APIC is in x2APIC mode and cannot come back from disabled");
    return;
  }
  if (!apic::set_mode(apic::Mode::xapic)) {
    report_fail("apic_mmio_read: the APIC did not go from x2APIC to xAPIC mode");
    return;
  }
  apic::init_this_cpu(false);
  use_current_apic_mode();
  case_apic_mmio();
  const bool back = apic::set_mode(apic::Mode::x2apic);
  apic::init_this_cpu(true);
  use_current_apic_mode();
  report(back && apic::mode() == apic::Mode::x2apic, "the BSP is back in x2APIC mode");
}

void case_cr8() {
  const uint64_t saved = cpu::read_cr8();
  report_measurement("cr8_write", "MOV to CR8", measure(kBatch, [saved] {
                       cpu::write_cr8(saved);
                       return true;
                     }));
}

void case_tsc_deadline() {
  if (!cpu::has(kTscDeadline)) {
    report_skip("tsc_deadline_write: %s is clear", kTscDeadline.name);
    return;
  }
  // Writes of IA32_TSC_DEADLINE are ignored outside TSC-deadline mode, and
  // the LVT write must be ordered before them (SDM vol.3 §11.5.4.1).
  apic::write(apic::Reg::lvt_timer,
              apic::lvt::kTimerTscDeadline | apic::lvt::kMasked | kTimerVector);
  asm volatile("mfence" ::: "memory");
  const uint64_t deadline = cpu::rdtsc() + kDeadlineAheadCycles;
  char buf[32];
  const ExInfo ex = wrmsr_safe(apic::kMsrTscDeadline, deadline);
  if (ex) {
    report_fail("tsc_deadline_write: WRMSR IA32_TSC_DEADLINE raised %s",
                exinfo_str(ex, buf, sizeof buf));
  } else {
    report_measurement("tsc_deadline_write", "WRMSR IA32_TSC_DEADLINE, armed far ahead",
                       measure(kBatch, [deadline] {
                         cpu::wrmsr(apic::kMsrTscDeadline, deadline);
                         return true;
                       }));
  }
  apic::timer_stop();
}

volatile uint32_t self_ipis;

bool count_self_ipi(ExceptionFrame*) {
  self_ipis = self_ipis + 1;
  lapic.eoi();
  return true;
}

void case_self_ipi() {
  ScopedHandler h(kSelfIpiVector, count_self_ipi);
  report_measurement("self_ipi", "self-IPI, sent to handled", measure(1, [] {
                       const uint32_t before = self_ipis;
                       lapic.send_self(kSelfIpiVector);
                       cpu::sti();
                       const bool arrived = wait_change(self_ipis, before);
                       cpu::cli();
                       return arrived;
                     }));
}

volatile uint32_t ipi_answers;

bool answer_ipi(ExceptionFrame*) {
  ipi_answers = ipi_answers + 1;
  lapic.eoi();
  return true;
}

// CPU 1 is idle: halted in the framework's loop with interrupts enabled
// (lib/smp), where the handler runs and answers through memory. A halted
// target, not a spinning one, because a spinning vCPU competes with the
// sender for the host's CPUs and the round trip would measure the host's
// scheduler.
void case_ipi() {
  if (cpu_count() < 2) {
    report_skip("ipi_roundtrip: needs a second CPU (%u online)", cpu_count());
    return;
  }
  ScopedHandler h(kIpiVector, answer_ipi);
  smp::wait_idle(1);
  const uint32_t dest = smp::apic_id_of(1);
  report_measurement("ipi_roundtrip", "IPI to halted CPU 1, sent to answered",
                     measure(1, [dest] {
                       const uint32_t before = ipi_answers;
                       lapic.send_fixed(dest, kIpiVector);
                       return wait_change(ipi_answers, before);
                     }));
}

}  // namespace

int main() {
  cpu::cli();
  use_current_apic_mode();
  report_info("vendor %s, hypervisor %s, APIC in %s mode, %u CPUs, TSC %lu kHz (%s)",
              cpu::vendor_str(cpu::vendor()), cpu::hypervisor_str(cpu::hypervisor()),
              apic::mode_str(apic::mode()), cpu_count(), timer::tsc_hz() / 1000,
              timer::tsc_source_str(timer::tsc_source()));
  // What the timing itself costs per operation, included in every median.
  const Measurement floor = measure(kBatch, [] { return true; });
  report_info("timing floor: %lu cycles per operation (median of %u samples)", floor.median,
              floor.samples);
  case_cpuid();
  case_hypercall();
  case_pm_timer();
  if (lapic.x2)
    case_x2apic_msr();
  else
    case_apic_mmio();
  case_cr8();
  case_tsc_deadline();
  case_self_ipi();
  case_ipi();
  case_other_apic_mode();
  return report_summary();
}
