// Instruction wrappers and named register bits (guest only).
#pragma once

#include <cstdint>

namespace cpu {

struct CpuidResult {
  uint32_t eax, ebx, ecx, edx;
};

inline CpuidResult cpuid(uint32_t leaf, uint32_t subleaf = 0) {
  CpuidResult r;
  asm volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
  return r;
}

inline uint64_t rdmsr(uint32_t msr) {
  uint32_t lo, hi;
  asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
  return lo | uint64_t(hi) << 32;
}

inline void wrmsr(uint32_t msr, uint64_t v) {
  asm volatile("wrmsr" ::"c"(msr), "a"(uint32_t(v)), "d"(uint32_t(v >> 32)) : "memory");
}

inline uint8_t inb(uint16_t port) {
  uint8_t v;
  asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}
inline uint16_t inw(uint16_t port) {
  uint16_t v;
  asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}
inline uint32_t inl(uint16_t port) {
  uint32_t v;
  asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}
inline void outb(uint16_t port, uint8_t v) { asm volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
inline void outw(uint16_t port, uint16_t v) { asm volatile("outw %0, %1" ::"a"(v), "Nd"(port)); }
inline void outl(uint16_t port, uint32_t v) { asm volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }

#define CPU_CR_ACCESSORS(n)                                                   \
  inline uint64_t read_cr##n() {                                              \
    uint64_t v;                                                               \
    asm volatile("mov %%cr" #n ", %0" : "=r"(v));                             \
    return v;                                                                 \
  }                                                                           \
  inline void write_cr##n(uint64_t v) { asm volatile("mov %0, %%cr" #n ::"r"(v) : "memory"); }
CPU_CR_ACCESSORS(0)
CPU_CR_ACCESSORS(2)
CPU_CR_ACCESSORS(3)
CPU_CR_ACCESSORS(4)
CPU_CR_ACCESSORS(8)
#undef CPU_CR_ACCESSORS

inline uint64_t read_rflags() {
  uint64_t v;
  asm volatile("pushfq; popq %0" : "=r"(v));
  return v;
}
inline uint64_t read_rsp() {
  uint64_t v;
  asm volatile("mov %%rsp, %0" : "=r"(v));
  return v;
}
inline uint64_t rdtsc() {
  uint32_t lo, hi;
  asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return lo | uint64_t(hi) << 32;
}
inline void cli() { asm volatile("cli" ::: "memory"); }
inline void sti() { asm volatile("sti" ::: "memory"); }
inline void pause() { asm volatile("pause"); }
inline void invlpg(const volatile void* p) { asm volatile("invlpg (%0)" ::"r"(p) : "memory"); }
[[noreturn]] inline void halt_forever() {
  for (;;) asm volatile("cli; hlt");
}

// Control register bits (AMD APM vol.2 §3.1, Intel SDM vol.3 §2.5).
namespace cr0 {
constexpr uint64_t PE = 1ull << 0;
constexpr uint64_t WP = 1ull << 16;
constexpr uint64_t AM = 1ull << 18;
constexpr uint64_t PG = 1ull << 31;
}  // namespace cr0
namespace cr4 {
constexpr uint64_t PAE = 1ull << 5;
constexpr uint64_t PGE = 1ull << 7;
constexpr uint64_t OSFXSR = 1ull << 9;
constexpr uint64_t UMIP = 1ull << 11;  // SDM vol.3 §2.5; reserved without CPUID UMIP
constexpr uint64_t LA57 = 1ull << 12;
constexpr uint64_t FSGSBASE = 1ull << 16;
constexpr uint64_t OSXSAVE = 1ull << 18;  // SDM vol.3 §2.5, vol.1 §13.3
constexpr uint64_t SMEP = 1ull << 20;
constexpr uint64_t SMAP = 1ull << 21;
constexpr uint64_t PKE = 1ull << 22;
}  // namespace cr4

// MSRs.
constexpr uint32_t kMsrEfer = 0xc0000080;
constexpr uint32_t kMsrFsBase = 0xc0000100;
constexpr uint32_t kMsrGsBase = 0xc0000101;
constexpr uint32_t kMsrKernelGsBase = 0xc0000102;
constexpr uint32_t kMsrTscAux = 0xc0000103;
constexpr uint32_t kMsrApicBase = 0x1b;
constexpr uint32_t kMsrPat = 0x277;
namespace efer {
constexpr uint64_t SCE = 1ull << 0;
constexpr uint64_t LME = 1ull << 8;
constexpr uint64_t LMA = 1ull << 10;
constexpr uint64_t NXE = 1ull << 11;
}  // namespace efer

// One CPUID feature flag: where it lives, and its name as the manuals
// write it, for reports ("CPUID.(EAX=7,ECX=0):ECX[bit 2] UMIP").
enum class CpuidReg : uint8_t { eax, ebx, ecx, edx };
struct CpuidBit {
  uint32_t leaf;
  uint32_t subleaf;
  CpuidReg reg;
  uint8_t bit;
  const char* name;
};
// True when the flag is set; false too when its leaf (or, for leaf 7, its
// subleaf) is above the maximum the CPU reports, where the SDM says the
// values are those of the highest leaf, not zero (vol.2A, CPUID).
bool has(const CpuidBit& b);

// Flags the tests ask about (Intel SDM vol.2A, CPUID, tables 3-8 to 3-10;
// AMD APM vol.3 appendix E).
namespace feature {
constexpr CpuidBit kClflush{1, 0, CpuidReg::edx, 19, "CPUID.1:EDX[bit 19] CLFSH"};
constexpr CpuidBit kSse{1, 0, CpuidReg::edx, 25, "CPUID.1:EDX[bit 25] SSE"};
constexpr CpuidBit kSse2{1, 0, CpuidReg::edx, 26, "CPUID.1:EDX[bit 26] SSE2"};
constexpr CpuidBit kXsave{1, 0, CpuidReg::ecx, 26, "CPUID.1:ECX[bit 26] XSAVE"};
constexpr CpuidBit kOsxsave{1, 0, CpuidReg::ecx, 27, "CPUID.1:ECX[bit 27] OSXSAVE"};
constexpr CpuidBit kAvx{1, 0, CpuidReg::ecx, 28, "CPUID.1:ECX[bit 28] AVX"};
constexpr CpuidBit kHypervisor{1, 0, CpuidReg::ecx, 31, "CPUID.1:ECX[bit 31] hypervisor"};
constexpr CpuidBit kClflushopt{7, 0, CpuidReg::ebx, 23,
                               "CPUID.(EAX=7,ECX=0):EBX[bit 23] CLFLUSHOPT"};
constexpr CpuidBit kClwb{7, 0, CpuidReg::ebx, 24, "CPUID.(EAX=7,ECX=0):EBX[bit 24] CLWB"};
constexpr CpuidBit kAvx512f{7, 0, CpuidReg::ebx, 16, "CPUID.(EAX=7,ECX=0):EBX[bit 16] AVX512F"};
// CPUID.(EAX=0DH,ECX=1):EAX, the XSAVE extensions (SDM vol.1 §13.2).
constexpr CpuidBit kXsaveopt{0xd, 1, CpuidReg::eax, 0, "CPUID.(EAX=0DH,ECX=1):EAX[bit 0] XSAVEOPT"};
constexpr CpuidBit kXsavec{0xd, 1, CpuidReg::eax, 1, "CPUID.(EAX=0DH,ECX=1):EAX[bit 1] XSAVEC"};
constexpr CpuidBit kXgetbv1{0xd, 1, CpuidReg::eax, 2, "CPUID.(EAX=0DH,ECX=1):EAX[bit 2] XGETBV1"};
constexpr CpuidBit kXsaves{0xd, 1, CpuidReg::eax, 3, "CPUID.(EAX=0DH,ECX=1):EAX[bit 3] XSAVES"};
constexpr CpuidBit kUmip{7, 0, CpuidReg::ecx, 2, "CPUID.(EAX=7,ECX=0):ECX[bit 2] UMIP"};
constexpr CpuidBit kWbnoinvd{0x80000008, 0, CpuidReg::ebx, 9,
                             "CPUID.80000008H:EBX[bit 9] WBNOINVD"};
}  // namespace feature

// CPUID feature bits used by the framework.
struct Features {
  bool nx, pdpe1gb, la57, x2apic, smep, smap, pku, rdtscp, hypervisor, tsc_deadline;
};
Features features();

// The hypervisor, from the signature at CPUID 0x40000000 (present when
// CPUID.1:ECX[31] is set).
enum class Hypervisor : uint8_t { none, kvm, tcg, xen, hyperv, vmware, other };
Hypervisor hypervisor();
const char* hypervisor_str(Hypervisor h);

}  // namespace cpu
