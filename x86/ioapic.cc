// ioapic: the I/O APICs the MADT lists, checked through interrupts that
// really arrive.
//
// Version and size registers are sane and the ID matches the MADT; a
// redirection entry reads back what was written. HPET comparator 0, routed
// to an I/O APIC input its capabilities allow, then shows the mask bit at
// work (a masked edge is not delivered, and per the 82093AA datasheet
// §3.2.4 not held pending either; an unmasked one is delivered once) and
// level-triggered delivery (Remote IRR is set until the EOI, the local
// APIC marks the vector level-triggered in TMR). The PIT's IRQ 0, routed
// through the MADT's interrupt source override, checks that overrides are
// honoured. Checks that need an HPET or I/O APIC SKIP without one.
#include <cstdint>

#include "acpi/platform.h"
#include "apic/apic.h"
#include "apic/ioapic.h"
#include "cpu/exceptions.h"
#include "cpu/processor.h"
#include "rt/report.h"
#include "timer/clock.h"
#include "timer/hpet.h"

namespace {

constexpr uint8_t kVec = 0x70;
constexpr uint8_t kPitVec = 0x71;
constexpr unsigned kHpetTimer = 0;

volatile uint32_t hits[256];
volatile bool saw_remote_irr, saw_tmr;
uint32_t level_gsi;

bool count_edge(ExceptionFrame* f) {
  hits[f->vector & 0xff] = hits[f->vector & 0xff] + 1;
  apic::eoi();
  return true;
}

// Level-triggered: the source stays asserted until the HPET's status bit is
// cleared; Remote IRR stays set until the EOI (datasheet §3.2.4).
bool count_level(ExceptionFrame* f) {
  hits[f->vector & 0xff] = hits[f->vector & 0xff] + 1;
  ioapic::Redirection r;
  saw_remote_irr = ioapic::get_redirection(level_gsi, &r) && r.remote_irr;
  saw_tmr = apic::level_triggered(static_cast<uint8_t>(f->vector));
  timer::hpet::write(timer::hpet::reg::kIntStatus, 1ull << kHpetTimer);
  apic::eoi();
  return true;
}

bool wait_hits(uint8_t v, uint32_t n, uint64_t ns) {
  cpu::sti();
  const bool ok = timer::wait_until([&] { return hits[v] >= n; }, ns);
  cpu::cli();
  return ok;
}

void registers() {
  ReportPrefix p("registers");
  for (unsigned i = 0; i < ioapic::count(); ++i) {
    const ioapic::Chip& c = *ioapic::chip(i);
    report_info("I/O APIC %u: id %u at 0x%lx, GSI %u-%u, version 0x%x", i, c.id, c.address,
                c.gsi_base, c.gsi_base + c.entries - 1, c.version);
    // 82093AA reports 0x11, later chipsets 0x20.
    report(c.version >= 0x11 && c.version <= 0x20, "chip %u: version 0x%x", i, c.version);
    report(c.entries >= 16 && c.entries <= 240, "chip %u: %u redirection entries", i, c.entries);
    const uint32_t id = (ioapic::read(c, ioapic::reg::kId) >> 24) & 0xf;
    report(id == (c.id & 0xf), "chip %u: ID register %u matches the MADT (%u)", i, id, c.id);
  }
  const ioapic::Chip& c = *ioapic::chip(0);
  const uint32_t gsi = c.gsi_base + c.entries - 1;
  ioapic::Redirection want;
  want.vector = 0x5a;
  want.level = true;
  want.active_low = true;
  want.dest = static_cast<uint8_t>(apic::id());
  want.masked = true;
  ioapic::set_redirection(gsi, want);
  ioapic::Redirection got;
  ioapic::get_redirection(gsi, &got);
  report(got.encode() == want.encode(), "entry for GSI %u reads back 0x%lx (wrote 0x%lx)", gsi,
         got.encode(), want.encode());
  ioapic::set_redirection(gsi, ioapic::Redirection{});
}

// An I/O APIC input HPET timer 0 may drive: the highest allowed one from
// 16 up (PCI interrupt lines nobody here uses), else any allowed one.
int hpet_gsi() {
  const uint64_t cap = timer::hpet::read(timer::hpet::reg::timer_config(kHpetTimer)) >>
                       timer::hpet::tconf::kRouteCapShift;
  unsigned pin;
  for (int g = 31; g >= 16; --g)
    if ((cap >> g & 1) && ioapic::chip_for_gsi(g, &pin)) return g;
  for (int g = 0; g < 16; ++g)
    if ((cap >> g & 1) && ioapic::chip_for_gsi(g, &pin) && g != 0 && g != 2) return g;
  return -1;
}

void hpet_fire(uint32_t gsi, bool level, uint64_t after_ns) {
  using namespace timer::hpet;
  const uint32_t cfg = reg::timer_config(kHpetTimer);
  uint64_t c = read(cfg) & ~(tconf::kRouteMask | tconf::kPeriodic | tconf::kLevel | tconf::kFsbEnable);
  c |= uint64_t(gsi) << tconf::kRouteShift | tconf::kIntEnable;
  if (level) c |= tconf::kLevel;
  write(cfg, c & ~tconf::kIntEnable);
  write(reg::kIntStatus, 1ull << kHpetTimer);
  write(reg::timer_comparator(kHpetTimer), counter() + after_ns * 1'000'000 / period_fs() + 1);
  write(cfg, c);
}

void hpet_off() {
  using namespace timer::hpet;
  write(reg::timer_config(kHpetTimer), read(reg::timer_config(kHpetTimer)) & ~tconf::kIntEnable);
  write(reg::kIntStatus, 1ull << kHpetTimer);
}

void masking() {
  ReportPrefix p("mask");
  const int gsi = hpet_gsi();
  if (gsi < 0) {
    report_skip("HPET timer 0 can reach no I/O APIC input");
    return;
  }
  report_info("HPET timer 0 -> GSI %d, vector 0x%x, edge", gsi, kVec);
  ScopedHandler h(kVec, count_edge);
  ioapic::Redirection r;
  r.vector = kVec;
  r.dest = static_cast<uint8_t>(apic::id());
  r.masked = true;
  ioapic::set_redirection(gsi, r);
  hits[kVec] = 0;
  hpet_fire(gsi, false, 1'000'000);
  wait_hits(kVec, 1, 20'000'000);
  report(hits[kVec] == 0, "masked: the edge is not delivered");
  ioapic::mask(gsi, false);
  wait_hits(kVec, 1, 5'000'000);
  report(hits[kVec] == 0, "unmasking delivers no stale edge (%u)", hits[kVec]);
  hits[kVec] = 0;
  hpet_fire(gsi, false, 1'000'000);
  const bool got = wait_hits(kVec, 1, 1'000'000'000);
  wait_hits(kVec, 2, 10'000'000);
  report(got && hits[kVec] == 1, "unmasked: the edge is delivered once (%u)", hits[kVec]);
  ioapic::Redirection after;
  ioapic::get_redirection(gsi, &after);
  report(!after.pending && !after.remote_irr, "edge entry idle afterwards");
  hpet_off();
  ioapic::set_redirection(gsi, ioapic::Redirection{});
}

void level() {
  ReportPrefix p("level");
  const int gsi = hpet_gsi();
  if (gsi < 0) {
    report_skip("HPET timer 0 can reach no I/O APIC input");
    return;
  }
  level_gsi = gsi;
  ScopedHandler h(kVec, count_level);
  ioapic::Redirection r;
  r.vector = kVec;
  r.dest = static_cast<uint8_t>(apic::id());
  r.level = true;
  r.masked = false;
  ioapic::set_redirection(gsi, r);
  hits[kVec] = 0;
  saw_remote_irr = false;
  saw_tmr = false;
  hpet_fire(gsi, true, 1'000'000);
  const bool got = wait_hits(kVec, 1, 1'000'000'000);
  wait_hits(kVec, 2, 10'000'000);
  report(got && hits[kVec] == 1, "level interrupt delivered once, after the source was cleared (%u)",
         hits[kVec]);
  report(saw_remote_irr, "Remote IRR set while the handler ran");
  report(saw_tmr, "the local APIC's TMR marks the vector level-triggered");
  ioapic::Redirection after;
  ioapic::get_redirection(gsi, &after);
  report(!after.remote_irr, "Remote IRR clear after the EOI");
  hpet_off();
  ioapic::set_redirection(gsi, ioapic::Redirection{});
}

// PIT channel 0, mode 0 (interrupt on terminal count): OUT rises once when
// the count runs out (8254 datasheet, mode 0).
constexpr uint16_t kPitChannel0 = 0x40;
constexpr uint16_t kPitCommand = 0x43;
constexpr uint8_t kPitCh0LoHiMode0 = 0x30;
constexpr uint32_t kPitHz = 1193182;

void isa_override() {
  ReportPrefix p("ISA IRQ 0");
  const ioapic::IsaRoute route = ioapic::isa_irq(0);
  report_info("ISA IRQ 0 -> GSI %u%s, %s, %s", route.gsi,
              route.overridden ? " (MADT override)" : "", route.level ? "level" : "edge",
              route.active_low ? "active low" : "active high");
  unsigned pin;
  if (!ioapic::chip_for_gsi(route.gsi, &pin)) {
    report_skip("no I/O APIC input for GSI %u", route.gsi);
    return;
  }
  ScopedHandler h(kPitVec, count_edge);
  ioapic::Redirection r;
  r.vector = kPitVec;
  r.dest = static_cast<uint8_t>(apic::id());
  r.level = route.level;
  r.active_low = route.active_low;
  r.masked = false;
  hits[kPitVec] = 0;
  const uint16_t count = static_cast<uint16_t>(kPitHz / 200);  // 5 ms
  cpu::outb(kPitCommand, kPitCh0LoHiMode0);
  cpu::outb(kPitChannel0, static_cast<uint8_t>(count));
  cpu::outb(kPitChannel0, static_cast<uint8_t>(count >> 8));
  ioapic::set_redirection(route.gsi, r);
  const bool got = wait_hits(kPitVec, 1, 1'000'000'000);
  report(got, "the PIT's terminal count arrives on GSI %u", route.gsi);
  ioapic::set_redirection(route.gsi, ioapic::Redirection{});
}

}  // namespace

int main() {
  if (ioapic::count() == 0) {
    report_skip(acpi::madt() ? "the MADT lists no usable I/O APIC" : "no MADT");
    return report_summary();
  }
  registers();
  if (timer::hpet::present()) {
    masking();
    level();
  } else {
    report_skip("HPET: none, so no interrupt source to route");
  }
  isa_override();
  return report_summary();
}
