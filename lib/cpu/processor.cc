#include "cpu/processor.h"

namespace cpu {

// CPUID bit positions: Intel SDM vol.2A, CPUID, tables 3-8 to 3-10; AMD
// APM vol.3 appendix E.
Features features() {
  Features f{};
  CpuidResult l0 = cpuid(0);
  if (l0.eax >= 1) {
    CpuidResult l1 = cpuid(1);
    f.x2apic = l1.ecx & (1u << 21);
    f.tsc_deadline = l1.ecx & (1u << 24);
    f.hypervisor = l1.ecx & (1u << 31);
  }
  if (l0.eax >= 7) {
    CpuidResult l7 = cpuid(7, 0);
    f.smep = l7.ebx & (1u << 7);
    f.smap = l7.ebx & (1u << 20);
    f.pku = l7.ecx & (1u << 3);
    f.la57 = l7.ecx & (1u << 16);
  }
  if (cpuid(0x80000000).eax >= 0x80000001) {
    CpuidResult e1 = cpuid(0x80000001);
    f.nx = e1.edx & (1u << 20);
    f.pdpe1gb = e1.edx & (1u << 26);
    f.rdtscp = e1.edx & (1u << 27);
  }
  return f;
}

}  // namespace cpu
