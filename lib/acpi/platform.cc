#include "acpi/platform.h"

#include "apic/apic.h"
#include "apic/ioapic.h"
#include "boot/bootinfo.h"
#include "pci/pci.h"
#include "rt/console.h"
#include "smp/smp.h"
#include "timer/clock.h"
#include "timer/hpet.h"
#include "timer/pmtimer.h"

namespace acpi {
namespace {

constexpr uint64_t k4G = 1ull << 32;

constinit Tables tables_ = {};
constinit bool have_tables = false;
constinit Problems problems_ = {};
constinit MadtInfo madt_ = {};
constinit FadtInfo fadt_ = {};
constinit HpetInfo hpet_ = {};
constinit McfgInfo mcfg_ = {};
constinit bool have_madt = false, have_fadt = false, have_hpet = false, have_mcfg = false;
constinit const BootInfo* boot = nullptr;

// The boot page tables map the low 4 GiB (but page 0) and every range of
// the memory map; a table pointer anywhere else is a firmware bug, refused
// here rather than faulted on.
const void* map_identity(void*, PhysAddr pa, uint64_t len) {
  const uint64_t a = pa.value;
  if (a < kPageSize || a + len < a) return nullptr;
  if (a + len <= k4G) return reinterpret_cast<const void*>(a);
  for (size_t i = 0; i < boot->mem_stats.count; ++i) {
    const boot::MemRange& r = boot->mem[i];
    if (a >= r.base.value && a + len <= r.end().value) return reinterpret_cast<const void*>(a);
  }
  return nullptr;
}

void print_problems() {
  for (size_t i = 0; i < problems_.count; ++i) {
    const Problem& p = problems_.items[i];
    printf("ACPI: %s: table '%.4s' at 0x%lx (detail 0x%x); not used\n", problem_str(p.kind),
           p.signature, p.where.value, p.detail);
  }
  if (problems_.dropped) printf("ACPI: %zu more problems not listed\n", problems_.dropped);
}

void init_tables(const BootInfo& bi) {
  boot = &bi;
  if (!bi.acpi_rsdp.value) {
    printf("ACPI: the firmware published no RSDP\n");
    return;
  }
  Access access{nullptr, map_identity};
  have_tables = tables_.init(access, bi.acpi_rsdp, &problems_);
  if (!have_tables) {
    print_problems();
    printf("ACPI: no usable root table behind the RSDP at 0x%lx\n", bi.acpi_rsdp.value);
    return;
  }
  if (const SdtHeader* t = tables_.find("APIC")) have_madt = parse_madt(t, &madt_, &problems_);
  if (const SdtHeader* t = tables_.find("FACP")) have_fadt = parse_fadt(t, &fadt_, &problems_);
  if (const SdtHeader* t = tables_.find("HPET")) have_hpet = parse_hpet(t, &hpet_, &problems_);
  if (const SdtHeader* t = tables_.find("MCFG")) have_mcfg = parse_mcfg(t, &mcfg_, &problems_);
  print_problems();
}

}  // namespace

const Tables* tables() { return have_tables ? &tables_ : nullptr; }
const MadtInfo* madt() { return have_madt ? &madt_ : nullptr; }
const FadtInfo* fadt() { return have_fadt ? &fadt_ : nullptr; }
const HpetInfo* hpet() { return have_hpet ? &hpet_ : nullptr; }
const McfgInfo* mcfg() { return have_mcfg ? &mcfg_ : nullptr; }
const Problems& problems() { return problems_; }

}  // namespace acpi

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

void platform_init(BootInfo& bi) {
  acpi::init_tables(bi);
  const acpi::MadtInfo* madt = acpi::madt();
  const acpi::Tables* t = acpi::tables();
  if (t)
    printf("acpi: revision %u, %s with %zu tables; MADT %s, FADT %s, HPET %s, MCFG %s\n",
           t->revision(), t->uses_xsdt() ? "XSDT" : "RSDT", t->count(), madt ? "yes" : "no",
           acpi::fadt() ? "yes" : "no", acpi::hpet() ? "yes" : "no", acpi::mcfg() ? "yes" : "no");

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
