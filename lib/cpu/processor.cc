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

bool has(const CpuidBit& b) {
  const uint32_t max = cpuid(b.leaf & 0x80000000u).eax;
  if (b.leaf > max) return false;
  if (b.leaf == 7 && b.subleaf > cpuid(7, 0).eax) return false;
  const CpuidResult r = cpuid(b.leaf, b.subleaf);
  uint32_t word = 0;
  switch (b.reg) {
    case CpuidReg::eax: word = r.eax; break;
    case CpuidReg::ebx: word = r.ebx; break;
    case CpuidReg::ecx: word = r.ecx; break;
    case CpuidReg::edx: word = r.edx; break;
  }
  return (word >> b.bit) & 1;
}

Vendor vendor() {
  CpuidResult r = cpuid(0);
  const uint32_t words[3] = {r.ebx, r.edx, r.ecx};
  auto is = [&words](const char (&want)[13]) {
    for (int i = 0; i < 12; ++i)
      if (static_cast<char>(words[i / 4] >> (8 * (i % 4))) != want[i]) return false;
    return true;
  };
  if (is("GenuineIntel")) return Vendor::intel;
  if (is("AuthenticAMD")) return Vendor::amd;
  if (is("HygonGenuine")) return Vendor::hygon;
  return Vendor::other;
}

const char* vendor_str(Vendor v) {
  switch (v) {
    case Vendor::intel: return "Intel";
    case Vendor::amd: return "AMD";
    case Vendor::hygon: return "Hygon";
    case Vendor::other: return "other";
  }
  return "?";
}

bool has_sysenter() {
  if (cpuid(0).eax < 1) return false;
  CpuidResult l1 = cpuid(1);
  if (!(l1.edx & (1u << 11))) return false;
  const uint32_t family = (l1.eax >> 8) & 0xf, model = (l1.eax >> 4) & 0xf,
                 stepping = l1.eax & 0xf;
  return !(family == 6 && model < 3 && stepping < 3);
}

bool has_syscall() {
  return cpuid(0x80000000).eax >= 0x80000001 && (cpuid(0x80000001).edx & (1u << 11));
}

Hypervisor hypervisor() {
  if (!(cpuid(1).ecx & (1u << 31))) return Hypervisor::none;
  CpuidResult r = cpuid(0x40000000);
  char sig[13];
  const uint32_t words[3] = {r.ebx, r.ecx, r.edx};
  for (int i = 0; i < 12; ++i) sig[i] = static_cast<char>(words[i / 4] >> (8 * (i % 4)));
  sig[12] = 0;
  auto is = [&sig](const char* want) {
    for (int i = 0; i < 12; ++i) {
      if (sig[i] != want[i]) return false;
      if (!want[i]) return true;
    }
    return true;
  };
  if (is("KVMKVMKVM")) return Hypervisor::kvm;
  if (is("TCGTCGTCGTCG")) return Hypervisor::tcg;
  if (is("XenVMMXenVMM")) return Hypervisor::xen;
  if (is("Microsoft Hv")) return Hypervisor::hyperv;
  if (is("VMwareVMware")) return Hypervisor::vmware;
  return Hypervisor::other;
}

const char* hypervisor_str(Hypervisor h) {
  switch (h) {
    case Hypervisor::none: return "none";
    case Hypervisor::kvm: return "KVM";
    case Hypervisor::tcg: return "TCG";
    case Hypervisor::xen: return "Xen";
    case Hypervisor::hyperv: return "Hyper-V";
    case Hypervisor::vmware: return "VMware";
    case Hypervisor::other: return "other";
  }
  return "?";
}

}  // namespace cpu
