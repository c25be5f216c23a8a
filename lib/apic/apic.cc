#include "apic/apic.h"

#include "cpu/exceptions.h"
#include "cpu/processor.h"

namespace apic {
namespace {

constexpr uint32_t kX2apicMsrBase = 0x800;
constexpr uint32_t kCpuidX2apic = 1u << 21;
constexpr uint32_t kCpuidTscDeadline = 1u << 24;

constinit bool x2apic_system = false;

uint32_t msr_of(Reg r) { return kX2apicMsrBase + static_cast<uint32_t>(r) / 16; }

volatile uint32_t* mmio(Reg r) {
  return reinterpret_cast<volatile uint32_t*>(xapic_base() + static_cast<uint32_t>(r));
}

bool in_x2apic() { return cpu::rdmsr(cpu::kMsrApicBase) & base_msr::kExtd; }

// Bit `vector` of an eight-register bank (ISR, TMR, IRR; SDM §11.8.4).
bool bank_bit(Reg bank0, uint8_t vector) {
  const Reg r = static_cast<Reg>(static_cast<uint32_t>(bank0) + 0x10 * (vector / 32));
  return read(r) & (1u << (vector % 32));
}

void set_lvt_timer(uint32_t value) { write(Reg::lvt_timer, value); }

}  // namespace

const char* mode_str(Mode m) {
  switch (m) {
    case Mode::disabled: return "disabled";
    case Mode::xapic: return "xAPIC";
    case Mode::x2apic: return "x2APIC";
    case Mode::invalid: return "invalid";
  }
  return "?";
}

bool x2apic_supported() { return cpu::cpuid(1).ecx & kCpuidX2apic; }
bool tsc_deadline_supported() { return cpu::cpuid(1).ecx & kCpuidTscDeadline; }

Mode mode() {
  const uint64_t b = cpu::rdmsr(cpu::kMsrApicBase);
  const bool en = b & base_msr::kEnable, extd = b & base_msr::kExtd;
  if (!en) return extd ? Mode::invalid : Mode::disabled;
  return extd ? Mode::x2apic : Mode::xapic;
}

bool set_mode(Mode m) {
  uint64_t b = cpu::rdmsr(cpu::kMsrApicBase);
  const Mode cur = mode();
  if (cur == m) return true;
  if (m == Mode::x2apic && !x2apic_supported()) return false;
  auto put = [&b](uint64_t v) {
    b = v;
    return !wrmsr_safe(cpu::kMsrApicBase, v).faulted();
  };
  switch (m) {
    case Mode::disabled:
      return put(b & ~(base_msr::kEnable | base_msr::kExtd));
    case Mode::xapic:
      // x2APIC -> xAPIC is not a legal transition (SDM §11.12.5): disable
      // first, which resets the APIC to its power-up state.
      if (cur == Mode::x2apic && !put(b & ~(base_msr::kEnable | base_msr::kExtd))) return false;
      return put((b & ~base_msr::kExtd) | base_msr::kEnable);
    case Mode::x2apic:
      // Disabled -> x2APIC must pass through xAPIC (EN before EXTD).
      if (cur != Mode::xapic && !put((b & ~base_msr::kExtd) | base_msr::kEnable)) return false;
      return put(b | base_msr::kEnable | base_msr::kExtd);
    case Mode::invalid: return false;
  }
  return false;
}

uint64_t xapic_base() { return cpu::rdmsr(cpu::kMsrApicBase) & base_msr::kAddressMask; }

uint32_t read(Reg r) {
  if (in_x2apic()) return static_cast<uint32_t>(cpu::rdmsr(msr_of(r)));
  return *mmio(r);
}

void write(Reg r, uint32_t v) {
  if (in_x2apic())
    cpu::wrmsr(msr_of(r), v);
  else
    *mmio(r) = v;
}

void enable(uint8_t spurious) {
  write(Reg::svr, (read(Reg::svr) & ~0xffu) | spurious | svr::kSoftwareEnable);
}

void init_this_cpu(bool want_x2apic) {
  set_mode(want_x2apic ? Mode::x2apic : Mode::xapic);
  enable(kSpuriousVector);
  write(Reg::tpr, 0);
  set_lvt_timer(lvt::kMasked);
  write(Reg::timer_initial, 0);
  write(Reg::lvt_lint0, lvt::kMasked);
  // LINT1 carries NMI on the bootstrap processor (MP specification 1.4
  // §3.6.2.2, virtual wire mode), as firmware leaves it; masked elsewhere,
  // as INIT leaves it (SDM §11.4.7.3). Set here so no entry depends on it.
  write(Reg::lvt_lint1, (cpu::rdmsr(cpu::kMsrApicBase) & base_msr::kBsp) ? lvt::kDeliveryNmi
                                                                          : lvt::kMasked);
  write(Reg::lvt_error, lvt::kMasked);
  // ESR is cleared by a write, which also latches new errors (SDM §11.5.3);
  // the second write leaves it empty.
  write(Reg::esr, 0);
  write(Reg::esr, 0);
}

bool system_x2apic() { return x2apic_system; }
void set_system_x2apic(bool on) { x2apic_system = on; }

uint32_t id() {
  const uint32_t v = read(Reg::id);
  return in_x2apic() ? v : v >> 24;
}

uint8_t version() { return static_cast<uint8_t>(read(Reg::version)); }
unsigned max_lvt() { return (read(Reg::version) >> 16) & 0xff; }

void eoi() { write(Reg::eoi, 0); }

bool in_service(uint8_t vector) { return bank_bit(Reg::isr0, vector); }
bool requested(uint8_t vector) { return bank_bit(Reg::irr0, vector); }
bool level_triggered(uint8_t vector) { return bank_bit(Reg::tmr0, vector); }

bool ipi_pending() {
  if (in_x2apic()) return false;
  return read(Reg::icr_low) & icr::kDeliveryPending;
}

bool send_ipi(uint32_t dest, uint64_t cmd) {
  if (in_x2apic()) {
    // One WRMSR sends it; x2APIC has no delivery-status bit (§11.12.9).
    cpu::wrmsr(msr_of(Reg::icr_low), uint64_t(dest) << icr::kX2apicDestShift | cmd);
    return true;
  }
  // Software should not write the ICR while the previous IPI is pending
  // (SDM vol.3 §11.6.1, Delivery Status). An APIC that never gets it out
  // is broken; the caller reports it.
  uint32_t polls = 0;
  while (ipi_pending()) {
    if (++polls == kIcrMaxPolls) return false;
    cpu::pause();
  }
  // The write to the low half sends it, so the destination goes first.
  write(Reg::icr_high, (dest & 0xff) << (icr::kXapicDestShift - 32));
  write(Reg::icr_low, static_cast<uint32_t>(cmd));
  return true;
}

bool send_fixed(uint32_t dest, uint8_t vector) {
  return send_ipi(dest, icr::kFixed | icr::kAssert | vector);
}
bool send_nmi(uint32_t dest) { return send_ipi(dest, icr::kNmi | icr::kAssert); }
bool send_init(uint32_t dest) { return send_ipi(dest, icr::kInit | icr::kAssert); }
bool send_startup(uint32_t dest, uint8_t page) {
  return send_ipi(dest, icr::kStartup | icr::kAssert | page);
}

bool send_self(uint8_t vector) {
  if (in_x2apic()) {
    cpu::wrmsr(msr_of(Reg::self_ipi), vector);
    return true;
  }
  return send_ipi(0, icr::kShorthandSelf | icr::kFixed | icr::kAssert | vector);
}

bool send_all_but_self(uint8_t vector) {
  return send_ipi(0, icr::kShorthandAllButSelf | icr::kFixed | icr::kAssert | vector);
}

void timer_oneshot(uint8_t vector, uint32_t count, Divide div) {
  write(Reg::timer_initial, 0);
  write(Reg::timer_divide, static_cast<uint32_t>(div));
  set_lvt_timer(lvt::kTimerOneShot | vector);
  write(Reg::timer_initial, count);
}

void timer_periodic(uint8_t vector, uint32_t count, Divide div) {
  write(Reg::timer_initial, 0);
  write(Reg::timer_divide, static_cast<uint32_t>(div));
  set_lvt_timer(lvt::kTimerPeriodic | vector);
  write(Reg::timer_initial, count);
}

void timer_tsc_deadline(uint8_t vector, uint64_t deadline) {
  set_lvt_timer(lvt::kTimerTscDeadline | vector);
  // The LVT write must be visible before the deadline is armed (SDM
  // §11.5.4.1 asks for an MFENCE between the two for this reason).
  asm volatile("mfence" ::: "memory");
  cpu::wrmsr(kMsrTscDeadline, deadline);
}

void timer_stop() {
  if ((read(Reg::lvt_timer) & lvt::kTimerModeMask) == lvt::kTimerTscDeadline)
    cpu::wrmsr(kMsrTscDeadline, 0);
  write(Reg::timer_initial, 0);
  set_lvt_timer(lvt::kMasked);
}

uint32_t timer_current() { return read(Reg::timer_current); }

}  // namespace apic
