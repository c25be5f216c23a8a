#include "acpi/platform.h"

#include "boot/bootinfo.h"
#include "rt/console.h"

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

}  // namespace

void init(const BootInfo& bi) {
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
  const Tables& t = tables_;
  printf("acpi: revision %u, %s with %zu tables; MADT %s, FADT %s, HPET %s, MCFG %s\n",
         t.revision(), t.uses_xsdt() ? "XSDT" : "RSDT", t.count(), have_madt ? "yes" : "no",
         have_fadt ? "yes" : "no", have_hpet ? "yes" : "no", have_mcfg ? "yes" : "no");
}

const Tables* tables() { return have_tables ? &tables_ : nullptr; }
const MadtInfo* madt() { return have_madt ? &madt_ : nullptr; }
const FadtInfo* fadt() { return have_fadt ? &fadt_ : nullptr; }
const HpetInfo* hpet() { return have_hpet ? &hpet_ : nullptr; }
const McfgInfo* mcfg() { return have_mcfg ? &mcfg_ : nullptr; }
const Problems& problems() { return problems_; }

}  // namespace acpi
