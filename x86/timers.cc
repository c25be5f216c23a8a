// timers: the platform clocks agree with each other and with their specs.
//
// The ACPI PM timer (ACPI 6.5 §4.8.3.3) counts monotonically at 3.579545
// MHz; the HPET (IA-PC HPET 1.0a) runs with a sane period and at least
// three comparators; the TSC calibration is plausible; udelay waits at
// least what it was asked; the ns clock never goes backwards. Rates are
// checked by comparing two independent clocks over the same interval,
// within 25%: under TCG every clock follows the host's wall clock but a
// vCPU can be descheduled between two reads, so tighter bounds would test
// the host's scheduler, not the clocks. For the same reason each pair of
// reads of two clocks is taken again until the pair was not interrupted.
#include <cstdint>

#include "cpu/processor.h"
#include "pci/pci.h"
#include "rt/report.h"
#include "timer/calibrate.h"
#include "timer/clock.h"
#include "timer/hpet.h"
#include "timer/pmtimer.h"

namespace {

constexpr unsigned kTolerancePercent = 25;
constexpr uint64_t kNs = 1'000'000'000;
// A pair of reads of two clocks that took longer than this was interrupted.
constexpr uint64_t kPairMaxNs = 20'000;
constexpr unsigned kPairTries = 1000;

// A reading of clock `b` dated on clock `a`: a is read before and after b,
// and the pair is read again (up to kPairTries times) until the two reads
// of a lie within `max_a_ticks`. False when they never did.
struct Pair {
  uint64_t a, b;
};
template <typename A, typename B>
bool read_pair(A read_a, B read_b, uint64_t max_a_ticks, Pair* out) {
  for (unsigned i = 0; i < kPairTries; ++i) {
    const uint64_t a0 = read_a();
    const uint64_t b = read_b();
    const uint64_t a1 = read_a();
    if (a1 - a0 <= max_a_ticks) {
      *out = Pair{a0 + (a1 - a0) / 2, b};
      return true;
    }
  }
  return false;
}

uint64_t hpet_ticks(uint64_t ns) {
  return timer::mul_div(ns, 1'000'000, timer::hpet::period_fs()) + 1;
}

void pm_timer() {
  ReportPrefix p("PM timer");
  if (!timer::pm::present()) {
    report_skip("%s", timer::pm::absent_reason());
    return;
  }
  report_info("%u-bit, %s 0x%lx", timer::pm::bits(), timer::pm::io() ? "port" : "MMIO",
              timer::pm::address());
  // Monotonic: successive reads never step back by more than half the
  // counter's range (a wrap is a step forward).
  const unsigned bits = timer::pm::bits();
  uint32_t prev = timer::pm::read(), first = prev;
  bool monotonic = true;
  uint64_t total = 0;
  for (unsigned i = 0; i < 10000; ++i) {
    const uint32_t now = timer::pm::read();
    const uint64_t d = timer::counter_delta(prev, now, bits);
    if (d >= (1ull << (bits - 1))) monotonic = false;
    total += d;
    prev = now;
  }
  report(monotonic, "10000 reads never go backwards");
  report(total > 0 && prev != first, "it advances (%lu ticks)", total);
  report(timer::pm::read() <= (bits == 32 ? 0xffffffffu : 0xffffffu),
         "reads stay within %u bits", bits);
}

// Ticks of the PM timer and of the HPET over the same ~50 ms.
void pm_against_hpet() {
  ReportPrefix p("PM timer vs HPET");
  if (!timer::pm::present() || !timer::hpet::present()) {
    report_skip("needs both the PM timer and the HPET");
    return;
  }
  const unsigned pbits = timer::pm::bits();
  auto pm = [] { return uint64_t{timer::pm::read()}; };
  Pair start, end;
  if (!read_pair(timer::hpet::counter, pm, hpet_ticks(kPairMaxNs), &start)) {
    report_fail("no pair of reads within %lu ns in %u tries", kPairMaxNs, kPairTries);
    return;
  }
  // 50 ms by the PM timer, or 200 ms by the HPET if the PM timer stalls.
  uint64_t pm_ticks = 0;
  uint64_t prev = start.b;
  bool ok = true;
  do {
    if (!read_pair(timer::hpet::counter, pm, hpet_ticks(kPairMaxNs), &end)) ok = false;
    pm_ticks += timer::counter_delta(prev, end.b, pbits);
    prev = end.b;
  } while (ok && pm_ticks < timer::pm::kHz / 20 && end.a - start.a < hpet_ticks(200'000'000));
  if (!ok) {
    report_fail("no pair of reads within %lu ns in %u tries", kPairMaxNs, kPairTries);
    return;
  }
  const uint64_t h0 = start.a, h1 = end.a;
  const uint64_t hpet_ns = timer::mul_div(h1 - h0, timer::hpet::period_fs(), 1'000'000);
  const uint64_t pm_ns = timer::mul_div(pm_ticks, kNs, timer::pm::kHz);
  report(timer::within_percent(pm_ns, hpet_ns, kTolerancePercent),
         "50 ms: PM timer says %lu us, HPET says %lu us (within %u%%)", pm_ns / 1000,
         hpet_ns / 1000, kTolerancePercent);
  const uint64_t pm_hz = timer::frequency_from(pm_ticks, h1 - h0, timer::hpet::frequency());
  report(timer::within_percent(pm_hz, timer::pm::kHz, kTolerancePercent),
         "PM timer runs at %lu Hz by the HPET (3579545 expected)", pm_hz);
}

void hpet() {
  ReportPrefix p("HPET");
  if (!timer::hpet::present()) {
    report_skip("%s", timer::hpet::absent_reason());
    return;
  }
  const uint64_t period = timer::hpet::period_fs();
  report(period > 0 && period <= 100'000'000, "period %lu fs is at most 100 ns", period);
  report(timer::hpet::timers() >= 3, "%u comparators (at least 3)", timer::hpet::timers());
  const uint64_t a = timer::hpet::counter();
  timer::udelay(100);
  const uint64_t b = timer::hpet::counter();
  report(b > a, "the main counter runs (%lu -> %lu)", a, b);
}

void tsc() {
  ReportPrefix p("TSC");
  const uint64_t hz = timer::tsc_hz();
  report_info("%lu kHz, calibrated against the %s; invariant: %s", hz / 1000,
              timer::tsc_source_str(timer::tsc_source()), timer::invariant_tsc() ? "yes" : "no");
  report(timer::tsc_source() != timer::TscSource::none, "calibrated");
  report(hz >= 100'000'000 && hz <= 10'000'000'000, "%lu Hz is between 100 MHz and 10 GHz", hz);
  // Against the clock it was not calibrated with.
  const bool by_pm = timer::tsc_source() == timer::TscSource::pm_timer;
  if (by_pm && timer::hpet::present()) {
    Pair start, end;
    const uint64_t max_tsc = timer::ns_to_tsc(kPairMaxNs);
    bool ok = read_pair(cpu::rdtsc, timer::hpet::counter, max_tsc, &start);
    if (ok) {
      timer::mdelay(50);
      ok = read_pair(cpu::rdtsc, timer::hpet::counter, max_tsc, &end);
    }
    if (!ok) {
      report_fail("no pair of reads within %lu ns in %u tries", kPairMaxNs, kPairTries);
      return;
    }
    const uint64_t by_hpet =
        timer::frequency_from(end.a - start.a, end.b - start.b, timer::hpet::frequency());
    report(timer::within_percent(by_hpet, hz, kTolerancePercent),
           "the HPET measures %lu kHz (within %u%%)", by_hpet / 1000, kTolerancePercent);
  } else {
    report_skip("no second clock to check the calibration against");
  }
}

// udelay against an independent clock: the PM timer, else the HPET.
void delays() {
  ReportPrefix p("udelay");
  if (timer::tsc_hz() == 0) {
    report_skip("no calibrated TSC");
    return;
  }
  static constexpr uint64_t kDelaysUs[] = {10, 1000, 20000};
  for (uint64_t us : kDelaysUs) {
    uint64_t ns;
    const char* by;
    if (timer::pm::present()) {
      by = "PM timer";
      const uint32_t a = timer::pm::read();
      timer::udelay(us);
      const uint32_t b = timer::pm::read();
      ns = timer::mul_div(timer::counter_delta(a, b, timer::pm::bits()), kNs, timer::pm::kHz);
    } else if (timer::hpet::present()) {
      by = "HPET";
      const uint64_t a = timer::hpet::counter();
      timer::udelay(us);
      ns = timer::mul_div(timer::hpet::counter() - a, timer::hpet::period_fs(), 1'000'000);
    } else {
      report_skip("no clock independent of the TSC");
      return;
    }
    // One tick of the reference clock and 2% of calibration error may
    // read as "short"; anything more is a delay that returned early.
    const uint64_t slack = us * 1000 / 50 + 300;
    report(ns + slack >= us * 1000, "udelay(%lu) took %lu ns by the %s", us, ns, by);
  }
}

void ns_clock() {
  ReportPrefix p("now_ns");
  uint64_t prev = timer::now_ns();
  bool monotonic = true;
  for (unsigned i = 0; i < 10000; ++i) {
    const uint64_t now = timer::now_ns();
    if (now < prev) monotonic = false;
    prev = now;
  }
  report(monotonic, "never goes backwards over 10000 reads");
  const uint64_t a = timer::now_ns();
  timer::mdelay(10);
  const uint64_t b = timer::now_ns();
  report(b - a >= 10'000'000, "advances by at least 10 ms across mdelay(10) (%lu us)",
         (b - a) / 1000);
}

// Intel ICH9 LPC bridge (QEMU's q35 emulates it), datasheet §13.1:
// PMBASE at 0x40 (bits 15:7), ACPI_CNTL at 0x44 with ACPI_EN (bit 7)
// enabling decode of the PM I/O block; the PM timer is at PMBASE + 8.
constexpr pci::Bdf kLpc{0, 0, 0x1f, 0};
constexpr uint16_t kIch9LpcDevice = 0x2918;
constexpr uint16_t kLpcPmBase = 0x40, kLpcAcpiCntl = 0x44;
constexpr uint32_t kAcpiEn = 1u << 7;
constexpr uint16_t kPmTimerOffset = 8;

const timer::Outcome& outcome_of(timer::TscSource s) {
  const timer::Attempt* a;
  const size_t n = timer::calibration_attempts(&a);
  for (size_t i = 0; i + 1 < n; ++i)
    if (a[i].source == s) return a[i].outcome;
  return a[n - 1].outcome;
}

// Calibration with references that do not tick, as other firmware leaves
// them: the PM I/O block not decoded (all ones), then the HPET's counter
// halted (a constant). Each must be refused within its bound and the next
// reference used. Runs last: it recalibrates, which restarts now_ns().
void fallback() {
  ReportPrefix p("fallback");
  const uint32_t id = pci::read32(kLpc, pci::cfg::kVendorId);
  const uint32_t pmbase = pci::read32(kLpc, kLpcPmBase) & 0xff80;
  if (id != (uint32_t{kIch9LpcDevice} << 16 | 0x8086) || !timer::pm::present() ||
      !timer::pm::io() || timer::pm::address() != pmbase + kPmTimerOffset ||
      !timer::hpet::present() || timer::tsc_source() != timer::TscSource::pm_timer) {
    report_skip("needs the ICH9 LPC bridge's PM timer, calibrated against, and an HPET");
    return;
  }
  const uint64_t hz = timer::tsc_hz();
  const uint32_t cntl = pci::read32(kLpc, kLpcAcpiCntl);

  pci::write32(kLpc, kLpcAcpiCntl, cntl & ~kAcpiEn);
  const uint32_t off = timer::pm::read();
  uint64_t t0 = cpu::rdtsc();
  timer::calibrate();
  uint64_t spent = cpu::rdtsc() - t0;
  const timer::Outcome& pm = outcome_of(timer::TscSource::pm_timer);
  report(off == (timer::pm::bits() == 32 ? 0xffffffffu : 0xffffffu),
         "with ACPI_EN clear the PM timer reads all ones (0x%x)", off);
  report(pm.measured && pm.result.status == timer::RefStatus::all_ones,
         "calibration refuses it: %s after %lu reads", timer::ref_status_str(pm.result.status),
         pm.result.reads);
  report(timer::tsc_source() == timer::TscSource::hpet &&
             timer::within_percent(timer::tsc_hz(), hz, 1),
         "and calibrates against the %s instead: %lu kHz (was %lu kHz), in %lu ms",
         timer::tsc_source_str(timer::tsc_source()), timer::tsc_hz() / 1000, hz / 1000,
         spent / (hz / 1000));

  const uint64_t config = timer::hpet::read(timer::hpet::reg::kConfig);
  timer::hpet::write(timer::hpet::reg::kConfig, config & ~timer::hpet::config::kEnable);
  t0 = cpu::rdtsc();
  timer::calibrate();
  spent = cpu::rdtsc() - t0;
  const timer::Outcome& hp = outcome_of(timer::TscSource::hpet);
  report(hp.measured && hp.result.status == timer::RefStatus::stuck,
         "a halted HPET is refused too: %s (0x%lx) after %lu reads, in %lu ms",
         timer::ref_status_str(hp.result.status), hp.result.value, hp.result.reads,
         spent / (hz / 1000));
  static constexpr timer::TscSource kStated[] = {
      timer::TscSource::hypervisor_leaf, timer::TscSource::cpuid_15h, timer::TscSource::cpuid_16h};
  for (timer::TscSource s : kStated) {
    const timer::Outcome& o = outcome_of(s);
    report_info("%s: %s", timer::tsc_source_str(s), o.used ? "used" : o.absent);
  }
  const timer::TscSource now = timer::tsc_source();
  report(now != timer::TscSource::pm_timer && now != timer::TscSource::hpet,
         "neither refused clock is used: the TSC rate is %lu kHz from %s", timer::tsc_hz() / 1000,
         now == timer::TscSource::none ? "nowhere" : timer::tsc_source_str(now));

  timer::hpet::write(timer::hpet::reg::kConfig, config);
  pci::write32(kLpc, kLpcAcpiCntl, cntl);
  timer::calibrate();
  report(timer::tsc_source() == timer::TscSource::pm_timer &&
             timer::within_percent(timer::tsc_hz(), hz, 1),
         "both restored: the %s again, %lu kHz", timer::tsc_source_str(timer::tsc_source()),
         timer::tsc_hz() / 1000);
}

}  // namespace

int main() {
  pm_timer();
  hpet();
  pm_against_hpet();
  tsc();
  delays();
  ns_clock();
  fallback();
  return report_summary();
}
