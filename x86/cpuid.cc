// cpuid: the basic, extended and hypervisor leaves agree with each other
// and with the mode the CPU is actually in.
//
// A hypervisor that filters CPUID must keep the leaves consistent: the
// maximum leaves bound what is reported, features the guest is visibly
// using (long mode, NX, the APIC) must be advertised, and leaf 7's subleaf
// count must be honoured.
#include <cstdint>

#include "cpu/processor.h"
#include "boot/bootinfo.h"
#include "rt/report.h"
#include "rt/string.h"

using cpu::cpuid;

namespace {

bool printable(const char* s, unsigned n) {
  for (unsigned i = 0; i < n; ++i)
    if (s[i] && (s[i] < 0x20 || s[i] > 0x7e)) return false;
  return true;
}

void put_le(char* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>(v >> (8 * i));
}

void basic() {
  ReportPrefix p("basic");
  cpu::CpuidResult l0 = cpuid(0);
  char vendor[13] = {};
  put_le(vendor, l0.ebx);
  put_le(vendor + 4, l0.edx);
  put_le(vendor + 8, l0.ecx);
  report_info("vendor \"%s\", max basic leaf 0x%x", vendor, l0.eax);
  report(l0.eax >= 1, "max basic leaf covers leaf 1");
  report(printable(vendor, 12) && vendor[0], "vendor string is printable");

  cpu::CpuidResult l1 = cpuid(1);
  unsigned family = (l1.eax >> 8) & 0xf, model = (l1.eax >> 4) & 0xf;
  if (family == 0xf) family += (l1.eax >> 20) & 0xff;
  if (family >= 6) model |= ((l1.eax >> 16) & 0xf) << 4;
  report_info("family 0x%x model 0x%x stepping %u, initial APIC id %u", family, model,
              l1.eax & 0xf, l1.ebx >> 24);
  report(family != 0, "family is non-zero");
  report(l1.edx & (1u << 9), "APIC advertised (the guest has one)");
  report(l1.edx & (1u << 5), "MSR instructions advertised (RDMSR works)");
  report(l1.edx & (1u << 4), "TSC advertised");

  cpu::CpuidResult again = cpuid(1);
  report(again.eax == l1.eax && again.ecx == l1.ecx && again.edx == l1.edx,
         "leaf 1 is stable across calls");
}

void leaf7() {
  ReportPrefix p("leaf 7");
  if (cpuid(0).eax < 7) {
    report_skip("max basic leaf below 7");
    return;
  }
  cpu::CpuidResult s0 = cpuid(7, 0);
  uint32_t max_sub = s0.eax;
  report_info("max subleaf %u, ebx 0x%08x ecx 0x%08x edx 0x%08x", max_sub, s0.ebx, s0.ecx,
              s0.edx);
  report(max_sub < 16, "max subleaf is plausible");
  // Intel SDM vol.2A, CPUID leaf 07H: subleaves above the maximum are zero.
  cpu::CpuidResult past = cpuid(7, max_sub + 1);
  report(!past.eax && !past.ebx && !past.ecx && !past.edx, "subleaf %u (past the max) is zero",
         max_sub + 1);
  bool smep = s0.ebx & (1u << 7);
  report(smep == boot_info().features.smep, "SMEP bit agrees with the boot-time snapshot");
}

void extended() {
  ReportPrefix p("extended");
  uint32_t max_ext = cpuid(0x80000000).eax;
  report_info("max extended leaf 0x%x", max_ext);
  report(max_ext >= 0x80000001 && max_ext < 0x80010000, "max extended leaf is plausible");
  if (max_ext < 0x80000001) return;
  cpu::CpuidResult e1 = cpuid(0x80000001);
  report(e1.edx & (1u << 29), "long mode advertised (we are running in it)");
  uint64_t efer = cpu::rdmsr(cpu::kMsrEfer);
  bool nx = e1.edx & (1u << 20);
  report(!(efer & cpu::efer::NXE) || nx, "NX advertised when EFER.NXE is set (NXE %d, NX %d)",
         !!(efer & cpu::efer::NXE), nx);
  report(e1.edx & (1u << 11), "SYSCALL advertised in long mode");
  if (max_ext >= 0x80000004) {
    char brand[49] = {};
    for (uint32_t i = 0; i < 3; ++i) {
      cpu::CpuidResult r = cpuid(0x80000002 + i);
      put_le(brand + 16 * i, r.eax);
      put_le(brand + 16 * i + 4, r.ebx);
      put_le(brand + 16 * i + 8, r.ecx);
      put_le(brand + 16 * i + 12, r.edx);
    }
    report(printable(brand, 48), "brand string is printable: \"%s\"", brand);
  }
  if (max_ext >= 0x80000008) {
    cpu::CpuidResult e8 = cpuid(0x80000008);
    unsigned phys = e8.eax & 0xff, virt = (e8.eax >> 8) & 0xff;
    report(phys >= 36 && phys <= 52, "physical address width %u bits", phys);
    report(virt == 48 || virt == 57, "linear address width %u bits", virt);
  }
}

void hypervisor() {
  ReportPrefix p("hypervisor");
  bool bit = cpuid(1).ecx & (1u << 31);
  if (!bit) {
    report_skip("CPUID.1:ECX[31] clear: no hypervisor (bare metal)");
    return;
  }
  cpu::CpuidResult h = cpuid(0x40000000);
  char sig[13] = {};
  put_le(sig, h.ebx);
  put_le(sig + 4, h.ecx);
  put_le(sig + 8, h.edx);
  report_info("signature \"%s\" (%s), max leaf 0x%x", sig,
              cpu::hypervisor_str(cpu::hypervisor()), h.eax);
  // The hypervisor range is 0x40000000-0x4fffffff; 0 is allowed by some
  // hypervisors to mean "0x40000001".
  report(h.eax == 0 || (h.eax >= 0x40000000 && h.eax < 0x50000000),
         "max hypervisor leaf in range");
  report(printable(sig, 12) && sig[0], "signature is printable");
}

}  // namespace

int main() {
  basic();
  leaf7();
  extended();
  hypervisor();
  return report_summary();
}
