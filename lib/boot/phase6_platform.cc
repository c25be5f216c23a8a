// Boot phase 6, step 2 (lib/boot/chain.h): the platform the tests run on,
// brought up once on the BSP after the memory services exist, in
// dependency order:
//   1. ACPI: the tables behind BootInfo::acpi_rsdp (lib/acpi/platform.h);
//   2. the local APIC of the BSP, the legacy PIC masked, the I/O APICs;
//   3. timers: PM timer, HPET, TSC calibrated against one of them;
//   4. PCI configuration access (ECAM from the MCFG, else ports);
//   5. SMP: every enabled CPU of the MADT brought up (lib/smp/smp.h).
// Each step is its owner's; this file only orders them and prints what
// came up.
#include "acpi/platform.h"
#include "apic/apic.h"
#include "apic/ioapic.h"
#include "boot/bootinfo.h"
#include "boot/chain.h"
#include "pci/pci.h"
#include "rt/console.h"
#include "smp/smp.h"
#include "timer/clock.h"
#include "timer/hpet.h"
#include "timer/pmtimer.h"

namespace {

// Which reference the TSC was calibrated against, and why each one before
// it was not used (lib/timer/clock.h).
void print_calibration() {
  const timer::Attempt* a;
  const size_t n = timer::calibration_attempts(&a);
  const timer::Attempt* used = nullptr;
  for (size_t i = 0; i < n && !used; ++i) {
    const timer::Outcome& o = a[i].outcome;
    const char* name = timer::tsc_source_str(a[i].source);
    if (o.used) {
      used = &a[i];
    } else if (!o.measured) {
      printf("timer: %s not used: %s\n", name, o.absent);
    } else {
      const timer::RefResult& r = o.result;
      printf("timer: %s not used: %s", name, timer::ref_status_str(r.status));
      switch (r.status) {
        case timer::RefStatus::all_ones:
        case timer::RefStatus::stuck:
        case timer::RefStatus::tsc_stuck:
          printf(" (read 0x%lx; %lu reads)", r.value, r.reads);
          break;
        case timer::RefStatus::too_slow: printf(" (%lu ticks in a round)", r.value); break;
        case timer::RefStatus::too_noisy:
          printf(" (%u rounds kept, %u disturbed)", r.kept, r.rejected);
          break;
        case timer::RefStatus::implausible: printf(" (%lu Hz)", r.hz); break;
        case timer::RefStatus::ok: break;
      }
      printf("\n");
    }
  }
  if (!used) {
    printf("timer: no reference for the TSC: delays return at once\n");
    return;
  }
  printf("timer: TSC %lu kHz from the %s", timer::tsc_hz() / 1000,
         timer::tsc_source_str(used->source));
  if (used->outcome.measured)
    printf(": median of %u rounds (%u disturbed, retried); a read costs %lu TSC cycles",
           used->outcome.result.kept, used->outcome.result.rejected,
           used->outcome.result.read_cycles);
  else
    printf(", as stated (not measured)");
  for (const timer::Attempt* x = used + 1; x < a + n; ++x)
    printf("%s%s", x == used + 1 ? "; not needed: " : ", ", timer::tsc_source_str(x->source));
  printf("\n");
}

}  // namespace

namespace boot {

void bring_up_platform(BootInfo& bi) {
  acpi::init(bi);
  const acpi::MadtInfo* madt = acpi::madt();

  // x2APIC whenever the CPU has it: MSR access is cheaper to virtualise
  // and reaches APIC ids above 254 (SDM vol.3 §11.12).
  apic::set_system_x2apic(apic::x2apic_supported());
  apic::init_this_cpu(apic::system_x2apic());
  ioapic::init(madt);

  if (const acpi::FadtInfo* f = acpi::fadt()) timer::pm::init(f->pm_timer);
  if (const acpi::HpetInfo* h = acpi::hpet()) timer::hpet::init(h->address);
  timer::calibrate();
  print_calibration();
  pci::init(acpi::mcfg());

  printf("platform: %u I/O APIC%s; PM timer ", ioapic::count(), ioapic::count() == 1 ? "" : "s");
  if (timer::pm::present())
    printf("%u-bit at %s 0x%lx", timer::pm::bits(), timer::pm::io() ? "port" : "MMIO",
           timer::pm::address());
  else
    printf("absent");
  if (timer::hpet::present())
    printf("; HPET at 0x%lx, %lu Hz, %u timers", timer::hpet::base(), timer::hpet::frequency(),
           timer::hpet::timers());
  else
    printf("; HPET absent");
  printf("; TSC %lu kHz (%s); PCI %s\n", timer::tsc_hz() / 1000,
         timer::tsc_source_str(timer::tsc_source()), pci::mechanism_str(pci::mechanism()));

  smp::init(bi);
}

}  // namespace boot
