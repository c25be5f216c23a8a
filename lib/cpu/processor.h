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
inline void write_rflags(uint64_t v) {
  asm volatile("pushq %0; popfq" ::"r"(v) : "memory", "cc");
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
// RDTSCP: the TSC, and IA32_TSC_AUX in *aux (SDM vol.2B "RDTSCP").
inline uint64_t rdtscp(uint32_t* aux) {
  uint32_t lo, hi, c;
  asm volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(c));
  *aux = c;
  return lo | uint64_t(hi) << 32;
}
// RDPID: IA32_TSC_AUX (SDM vol.2B "RDPID").
inline uint64_t rdpid() {
  uint64_t v;
  asm volatile("rdpid %0" : "=r"(v));
  return v;
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
// MP: WAIT/FWAIT honour TS; EM: x87/SSE instructions raise #NM/#UD
// (SDM vol.3 §2.5, Table 2-2).
constexpr uint64_t MP = 1ull << 1;
constexpr uint64_t EM = 1ull << 2;
constexpr uint64_t TS = 1ull << 3;
constexpr uint64_t NE = 1ull << 5;
constexpr uint64_t WP = 1ull << 16;
constexpr uint64_t AM = 1ull << 18;
constexpr uint64_t PG = 1ull << 31;
// ET reads as 1; NW and CD are the cache-disable pair that power-up sets
// and INIT leaves alone (SDM vol.3 §2.5, Table 9-1 note 2).
constexpr uint64_t ET = 1ull << 4;
constexpr uint64_t NW = 1ull << 29;
constexpr uint64_t CD = 1ull << 30;
}  // namespace cr0
namespace cr4 {
// SDM vol.3 §2.5, §18.2.2: DR4/DR5 #UD instead of aliasing DR6/DR7.
constexpr uint64_t DE = 1ull << 3;
constexpr uint64_t PAE = 1ull << 5;
constexpr uint64_t PGE = 1ull << 7;
constexpr uint64_t OSFXSR = 1ull << 9;
constexpr uint64_t OSXMMEXCPT = 1ull << 10;
constexpr uint64_t UMIP = 1ull << 11;  // SDM vol.3 §2.5; reserved without CPUID UMIP
constexpr uint64_t LA57 = 1ull << 12;
constexpr uint64_t FSGSBASE = 1ull << 16;
// SDM vol.3 §2.5 and §4.10.1; reserved without CPUID PCID, settable only
// in IA-32e mode with CR3[11:0] = 0.
constexpr uint64_t PCIDE = 1ull << 17;
constexpr uint64_t OSXSAVE = 1ull << 18;  // SDM vol.3 §2.5, vol.1 §13.3
constexpr uint64_t SMEP = 1ull << 20;
constexpr uint64_t SMAP = 1ull << 21;
constexpr uint64_t PKE = 1ull << 22;
}  // namespace cr4

// INVPCID (Intel SDM vol.2B "INVPCID"; AMD APM vol.3 "INVPCID"): the type
// goes in a register, the 16-byte descriptor in memory.
namespace invpcid {
enum class Type : uint64_t {
  individual_address = 0,         // one address in one PCID, globals kept
  single_context = 1,             // one PCID, globals kept
  all_contexts_with_globals = 2,  // every PCID, globals too
  all_contexts = 3,               // every PCID, globals kept
};
struct Descriptor {
  uint64_t pcid;  // bits 11:0 the PCID, bits 63:12 reserved (must be 0)
  uint64_t address;
};
static_assert(sizeof(Descriptor) == 16);
}  // namespace invpcid

// MSRs.
constexpr uint32_t kMsrEfer = 0xc0000080;
constexpr uint32_t kMsrFsBase = 0xc0000100;
constexpr uint32_t kMsrGsBase = 0xc0000101;
constexpr uint32_t kMsrKernelGsBase = 0xc0000102;
constexpr uint32_t kMsrTscAux = 0xc0000103;
constexpr uint32_t kMsrApicBase = 0x1b;
constexpr uint32_t kMsrPat = 0x277;
// IA32_PAT: eight one-byte entries; two of the memory types (Intel SDM
// vol.3 §12.12.2 "IA32_PAT MSR"; AMD APM vol.2 §7.8.1).
namespace pat {
constexpr unsigned kEntryBits = 8;
constexpr uint64_t kEntryMask = 0xff;
constexpr uint64_t kUc = 0x00;
constexpr uint64_t kUcMinus = 0x07;
}  // namespace pat
// SYSENTER/SYSEXIT (Intel SDM vol.3 §5.8.7) and SYSCALL/SYSRET (SDM vol.3
// §5.8.8, AMD APM vol.2 §6.1.1) targets and masks.
// IA32_TIME_STAMP_COUNTER, the counter RDTSC reads, and IA32_TSC_ADJUST,
// which follows every write of it (SDM vol.3 §18.17, §18.17.3).
constexpr uint32_t kMsrTsc = 0x10;
constexpr uint32_t kMsrTscAdjust = 0x3b;
// Machine check (SDM vol.3 §16.3; AMD APM vol.2 §9.3): MCG_CAP[7:0] counts
// the banks, and bank i has CTL, STATUS, ADDR and MISC at 0x400 + 4i.
constexpr uint32_t kMsrMcgCap = 0x179;
constexpr uint32_t kMsrMcgStatus = 0x17a;
constexpr uint32_t kMsrMc0Ctl = 0x400;
constexpr uint64_t kMcgCapCount = 0xff;
// MTRRs (SDM vol.3 §12.11.2.1): IA32_MTRRCAP is read-only; IA32_MTRR_DEF_TYPE
// has the default type in 7:0, FE (bit 10) and E (bit 11), the rest reserved.
constexpr uint32_t kMsrMtrrCap = 0xfe;
constexpr uint32_t kMsrMtrrDefType = 0x2ff;
constexpr uint64_t kMtrrDefTypeValid = 0xcff;
// Speculation control (SDM vol.4 table 2-2; AMD's "Software Techniques for
// Managing Speculation"): SPEC_CTRL bits IBRS 0, STIBP 1, SSBD 2; PRED_CMD
// is write-only, bit 0 IBPB.
constexpr uint32_t kMsrSpecCtrl = 0x48;
constexpr uint32_t kMsrPredCmd = 0x49;
constexpr uint64_t kPredCmdIbpb = 1ull << 0;
// IA32_XSS: supervisor state components for XSAVES (SDM vol.1 §13.3).
constexpr uint32_t kMsrXss = 0xda0;
constexpr uint32_t kMsrSysenterCs = 0x174;
constexpr uint32_t kMsrSysenterEsp = 0x175;
constexpr uint32_t kMsrSysenterEip = 0x176;
constexpr uint32_t kMsrStar = 0xc0000081;
constexpr uint32_t kMsrLstar = 0xc0000082;
constexpr uint32_t kMsrCstar = 0xc0000083;
constexpr uint32_t kMsrSfmask = 0xc0000084;
// STAR: SYSCALL CS in bits 47:32, SYSRET CS base in bits 63:48.
constexpr uint64_t star(uint16_t syscall_cs, uint16_t sysret_cs) {
  return uint64_t(syscall_cs) << 32 | uint64_t(sysret_cs) << 48;
}
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
constexpr CpuidBit kMce{1, 0, CpuidReg::edx, 7, "CPUID.1:EDX[bit 7] MCE"};
constexpr CpuidBit kMtrr{1, 0, CpuidReg::edx, 12, "CPUID.1:EDX[bit 12] MTRR"};
constexpr CpuidBit kMca{1, 0, CpuidReg::edx, 14, "CPUID.1:EDX[bit 14] MCA"};
constexpr CpuidBit kClflush{1, 0, CpuidReg::edx, 19, "CPUID.1:EDX[bit 19] CLFSH"};
constexpr CpuidBit kFxsr{1, 0, CpuidReg::edx, 24, "CPUID.1:EDX[bit 24] FXSR"};
constexpr CpuidBit kSse{1, 0, CpuidReg::edx, 25, "CPUID.1:EDX[bit 25] SSE"};
constexpr CpuidBit kSse2{1, 0, CpuidReg::edx, 26, "CPUID.1:EDX[bit 26] SSE2"};
constexpr CpuidBit kPcid{1, 0, CpuidReg::ecx, 17, "CPUID.1:ECX[bit 17] PCID"};
constexpr CpuidBit kXsave{1, 0, CpuidReg::ecx, 26, "CPUID.1:ECX[bit 26] XSAVE"};
constexpr CpuidBit kOsxsave{1, 0, CpuidReg::ecx, 27, "CPUID.1:ECX[bit 27] OSXSAVE"};
constexpr CpuidBit kAvx{1, 0, CpuidReg::ecx, 28, "CPUID.1:ECX[bit 28] AVX"};
constexpr CpuidBit kHypervisor{1, 0, CpuidReg::ecx, 31, "CPUID.1:ECX[bit 31] hypervisor"};
// The local APIC's x2APIC mode and its TSC-deadline timer mode (SDM vol.3
// §11.12.1, §11.5.4.1).
constexpr CpuidBit kX2apic{1, 0, CpuidReg::ecx, 21, "CPUID.1:ECX[bit 21] x2APIC"};
constexpr CpuidBit kTscDeadline{1, 0, CpuidReg::ecx, 24, "CPUID.1:ECX[bit 24] TSC-deadline"};
constexpr CpuidBit kTscAdjust{7, 0, CpuidReg::ebx, 1, "CPUID.(EAX=7,ECX=0):EBX[bit 1] IA32_TSC_ADJUST"};
constexpr CpuidBit kInvpcid{7, 0, CpuidReg::ebx, 10, "CPUID.(EAX=7,ECX=0):EBX[bit 10] INVPCID"};
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
// 5-level paging, CR4.LA57 (SDM vol.3 §4.1.1, §4.5).
constexpr CpuidBit kLa57{7, 0, CpuidReg::ecx, 16, "CPUID.(EAX=7,ECX=0):ECX[bit 16] LA57"};
constexpr CpuidBit kWbnoinvd{0x80000008, 0, CpuidReg::ebx, 9,
                             "CPUID.80000008H:EBX[bit 9] WBNOINVD"};
constexpr CpuidBit kRdpid{7, 0, CpuidReg::ecx, 22, "CPUID.(EAX=7,ECX=0):ECX[bit 22] RDPID"};
constexpr CpuidBit kRdtscp{0x80000001, 0, CpuidReg::edx, 27, "CPUID.80000001H:EDX[bit 27] RDTSCP"};
constexpr CpuidBit kIbrsIbpb{7, 0, CpuidReg::edx, 26, "CPUID.(EAX=7,ECX=0):EDX[bit 26] IBRS_IBPB"};
constexpr CpuidBit kStibp{7, 0, CpuidReg::edx, 27, "CPUID.(EAX=7,ECX=0):EDX[bit 27] STIBP"};
constexpr CpuidBit kSsbd{7, 0, CpuidReg::edx, 31, "CPUID.(EAX=7,ECX=0):EDX[bit 31] SSBD"};
constexpr CpuidBit kAmdIbpb{0x80000008, 0, CpuidReg::ebx, 12, "CPUID.80000008H:EBX[bit 12] IBPB"};
constexpr CpuidBit kAmdIbrs{0x80000008, 0, CpuidReg::ebx, 14, "CPUID.80000008H:EBX[bit 14] IBRS"};
constexpr CpuidBit kAmdStibp{0x80000008, 0, CpuidReg::ebx, 15,
                             "CPUID.80000008H:EBX[bit 15] STIBP"};
constexpr CpuidBit kAmdSsbd{0x80000008, 0, CpuidReg::ebx, 24, "CPUID.80000008H:EBX[bit 24] SSBD"};
// What DR6's active-low RTM and BLD bits depend on (SDM vol.3B §18.2.3).
constexpr CpuidBit kRtm{7, 0, CpuidReg::ebx, 11, "CPUID.(EAX=7,ECX=0):EBX[bit 11] RTM"};
constexpr CpuidBit kBusLockDetect{7, 0, CpuidReg::ecx, 24,
                                  "CPUID.(EAX=7,ECX=0):ECX[bit 24] BUS_LOCK_DETECT"};
// Instructions the emulator test runs on MMIO (SDM vol.2A "CMPXCHG8B/
// CMPXCHG16B", "MOVBE", "FXSAVE").
constexpr CpuidBit kCx16{1, 0, CpuidReg::ecx, 13, "CPUID.1:ECX[bit 13] CMPXCHG16B"};
constexpr CpuidBit kMovbe{1, 0, CpuidReg::ecx, 22, "CPUID.1:ECX[bit 22] MOVBE"};
constexpr CpuidBit kCx8{1, 0, CpuidReg::edx, 8, "CPUID.1:EDX[bit 8] CX8"};
// (FXSR: kFxsr above.)
}  // namespace feature

// Paging protections (Intel SDM vol.3 §4.1.4, §4.6; AMD APM vol.2 §5.6):
// the CPUID bits that enumerate them, CR4.PKS, IA32_PKRS, the PKRU
// accessors, and MAXPHYADDR (CPUID.80000008H:EAX[7:0], SDM vol.3 §4.1.4).
namespace feature {
constexpr CpuidBit kNx{0x80000001, 0, CpuidReg::edx, 20, "CPUID.80000001H:EDX[bit 20] NX"};
constexpr CpuidBit kSmep{7, 0, CpuidReg::ebx, 7, "CPUID.(EAX=7,ECX=0):EBX[bit 7] SMEP"};
constexpr CpuidBit kSmap{7, 0, CpuidReg::ebx, 20, "CPUID.(EAX=7,ECX=0):EBX[bit 20] SMAP"};
constexpr CpuidBit kPku{7, 0, CpuidReg::ecx, 3, "CPUID.(EAX=7,ECX=0):ECX[bit 3] PKU"};
constexpr CpuidBit kPks{7, 0, CpuidReg::ecx, 31, "CPUID.(EAX=7,ECX=0):ECX[bit 31] PKS"};
}  // namespace feature
namespace cr4 {
constexpr uint64_t PKS = 1ull << 24;
}  // namespace cr4
constexpr uint32_t kMsrPkrs = 0x6e1;
constexpr uint32_t kCpuidAddrSizes = 0x80000008;
// Without that leaf, MAXPHYADDR is 36 (SDM vol.3 §4.1.4).
inline unsigned maxphyaddr() {
  if (cpuid(0x80000000).eax < kCpuidAddrSizes) return 36;
  return cpuid(kCpuidAddrSizes).eax & 0xff;
}
// RDPKRU/WRPKRU (SDM vol.2B): ECX (and EDX for WRPKRU) must be 0.
inline uint32_t rdpkru() {
  uint32_t eax, edx;
  asm volatile("rdpkru" : "=a"(eax), "=d"(edx) : "c"(0));
  return eax;
}
inline void wrpkru(uint32_t v) { asm volatile("wrpkru" ::"a"(v), "c"(0), "d"(0) : "memory"); }

// Secure Virtual Machine (AMD APM vol.2 §15.4, §15.30; vol.3 appendix E):
// CPUID 8000_0001H ECX[2] says SVM exists, CPUID 8000_000AH describes it
// (EAX[7:0] the revision, EBX the number of ASIDs, EDX the optional
// features), EFER.SVME enables it, VM_CR.SVMDIS can forbid it and
// VM_HSAVE_PA names the page where VMRUN keeps the host's state.
namespace feature {
constexpr CpuidBit kSvm{0x80000001, 0, CpuidReg::ecx, 2, "CPUID.80000001H:ECX[bit 2] SVM"};
constexpr CpuidBit kSvmNpt{0x8000000a, 0, CpuidReg::edx, 0, "CPUID.8000000AH:EDX[bit 0] NP"};
constexpr CpuidBit kSvmLbrv{0x8000000a, 0, CpuidReg::edx, 1, "CPUID.8000000AH:EDX[bit 1] LbrVirt"};
constexpr CpuidBit kSvmNrips{0x8000000a, 0, CpuidReg::edx, 3, "CPUID.8000000AH:EDX[bit 3] NRIPS"};
constexpr CpuidBit kSvmTscRate{0x8000000a, 0, CpuidReg::edx, 4,
                               "CPUID.8000000AH:EDX[bit 4] TscRateMsr"};
constexpr CpuidBit kSvmVmcbClean{0x8000000a, 0, CpuidReg::edx, 5,
                                 "CPUID.8000000AH:EDX[bit 5] VmcbClean"};
constexpr CpuidBit kSvmFlushByAsid{0x8000000a, 0, CpuidReg::edx, 6,
                                   "CPUID.8000000AH:EDX[bit 6] FlushByAsid"};
constexpr CpuidBit kSvmDecodeAssists{0x8000000a, 0, CpuidReg::edx, 7,
                                     "CPUID.8000000AH:EDX[bit 7] DecodeAssists"};
constexpr CpuidBit kSvmPauseFilter{0x8000000a, 0, CpuidReg::edx, 10,
                                   "CPUID.8000000AH:EDX[bit 10] PauseFilter"};
constexpr CpuidBit kSvmPauseFilterThreshold{0x8000000a, 0, CpuidReg::edx, 12,
                                            "CPUID.8000000AH:EDX[bit 12] PauseFilterThreshold"};
constexpr CpuidBit kSvmAvic{0x8000000a, 0, CpuidReg::edx, 13, "CPUID.8000000AH:EDX[bit 13] AVIC"};
constexpr CpuidBit kSvmVmsaveVirt{0x8000000a, 0, CpuidReg::edx, 15,
                                  "CPUID.8000000AH:EDX[bit 15] VMSAVEvirt"};
constexpr CpuidBit kSvmVgif{0x8000000a, 0, CpuidReg::edx, 16, "CPUID.8000000AH:EDX[bit 16] VGIF"};
constexpr CpuidBit kSvmVnmi{0x8000000a, 0, CpuidReg::edx, 25, "CPUID.8000000AH:EDX[bit 25] VNMI"};
// 1 GiB pages, in the host's tables and so in nested ones (APM §15.25.1).
constexpr CpuidBit kPage1gb{0x80000001, 0, CpuidReg::edx, 26, "CPUID.80000001H:EDX[bit 26] Page1GB"};
}  // namespace feature
constexpr uint32_t kCpuidSvm = 0x8000000a;
constexpr uint32_t kMsrVmCr = 0xc0010114;
constexpr uint32_t kMsrVmHsavePa = 0xc0010117;
constexpr uint64_t kVmCrSvmDis = 1ull << 4;  // APM vol.2 §15.30.1
namespace efer {
constexpr uint64_t SVME = 1ull << 12;
}  // namespace efer
// Bits the VMRUN consistency checks name (APM vol.2 §15.5.1, §3.1.1,
// §3.1.3): CR0.NW may not be set without CR0.CD (cr0:: above); CR4.PSE
// selects 4 MiB pages in legacy non-PAE paging.
namespace cr4 {
constexpr uint64_t PSE = 1ull << 4;
}  // namespace cr4

// The CPU vendor, from the CPUID leaf 0 string (SDM vol.2A "CPUID", APM
// vol.3 §E.3.1): GenuineIntel, AuthenticAMD, HygonGenuine.
enum class Vendor : uint8_t { intel, amd, hygon, other };
Vendor vendor();
const char* vendor_str(Vendor v);

// SYSENTER/SYSEXIT are present: CPUID.1:EDX[11] SEP, except on the early
// family 6 parts (model < 3, stepping < 3) that set SEP without supporting
// them (SDM vol.2B "SYSENTER", operation).
bool has_sysenter();
// SYSCALL/SYSRET are present: CPUID.80000001H:EDX[11] (on Intel it reads 1
// only in 64-bit mode, SDM vol.2A "CPUID").
bool has_syscall();

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
