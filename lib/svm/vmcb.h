// The virtual machine control block (AMD APM vol.2 §15.5, appendix B),
// portable: no instruction here, so the layout and the printers are
// host-tested.
//
// A VMCB is one 4 KiB page: the control area (table B-1) at offset 0, the
// state-save area (table B-2) at 0x400. Every field is named and its offset
// is checked against the APM below; intercepts are named bits of the
// control area's vectors, exit codes an enum with a printer (appendix C).
//
// Contract: the structs are plain data, zero means "nothing intercepted,
// nothing injected"; bits the APM reserves stay zero unless a test sets
// them on purpose.
#pragma once

#include <cstddef>
#include <cstdint>

namespace svm {

// A segment as the VMCB holds it (APM vol.2 §15.5.3 "VMCB Layout"): the
// attribute word packs descriptor bits 47:40 (type, S, DPL, P) into 7:0 and
// bits 55:52 (AVL, L, D/B, G) into 11:8.
struct VmcbSegment {
  uint16_t selector;
  uint16_t attrib;
  uint32_t limit;
  uint64_t base;
};
static_assert(sizeof(VmcbSegment) == 16);

namespace seg_attr {
constexpr uint16_t kAccessed = 1u << 0;
constexpr uint16_t kWritable = 1u << 1;  // data; readable for code
constexpr uint16_t kCode = 1u << 3;
constexpr uint16_t kS = 1u << 4;  // code or data (not system)
constexpr uint16_t kP = 1u << 7;
constexpr uint16_t kL = 1u << 9;
constexpr uint16_t kDb = 1u << 10;
constexpr uint16_t kG = 1u << 11;
constexpr uint16_t dpl(unsigned d) { return static_cast<uint16_t>((d & 3) << 5); }
// The attribute word of a 64-bit GDT descriptor.
constexpr uint16_t from_descriptor(uint64_t d) {
  return static_cast<uint16_t>(((d >> 40) & 0xff) | ((d >> 44) & 0xf00));
}
}  // namespace seg_attr

// Intercept vector 3 (offset 0x00c) and vector 4 (offset 0x010), APM
// table B-1. The exit code of each is kMisc1Base + bit, kMisc2Base + bit.
namespace intercept {
enum Misc1 : uint32_t {
  kIntr = 1u << 0, kNmi = 1u << 1, kSmi = 1u << 2, kInit = 1u << 3, kVintr = 1u << 4,
  kCr0SelWrite = 1u << 5, kIdtrRead = 1u << 6, kGdtrRead = 1u << 7, kLdtrRead = 1u << 8,
  kTrRead = 1u << 9, kIdtrWrite = 1u << 10, kGdtrWrite = 1u << 11, kLdtrWrite = 1u << 12,
  kTrWrite = 1u << 13, kRdtsc = 1u << 14, kRdpmc = 1u << 15, kPushf = 1u << 16,
  kPopf = 1u << 17, kCpuid = 1u << 18, kRsm = 1u << 19, kIret = 1u << 20, kIntn = 1u << 21,
  kInvd = 1u << 22, kPause = 1u << 23, kHlt = 1u << 24, kInvlpg = 1u << 25,
  kInvlpga = 1u << 26, kIoioProt = 1u << 27, kMsrProt = 1u << 28, kTaskSwitch = 1u << 29,
  kFerrFreeze = 1u << 30, kShutdown = 1u << 31,
};
enum Misc2 : uint32_t {
  kVmrun = 1u << 0, kVmmcall = 1u << 1, kVmload = 1u << 2, kVmsave = 1u << 3,
  kStgi = 1u << 4, kClgi = 1u << 5, kSkinit = 1u << 6, kRdtscp = 1u << 7, kIcebp = 1u << 8,
  kWbinvd = 1u << 9, kMonitor = 1u << 10, kMwait = 1u << 11, kMwaitArmed = 1u << 12,
  kXsetbv = 1u << 13, kRdpru = 1u << 14, kEferWriteTrap = 1u << 15,
};
// The name of bit `bit` of vector 3 or 4 ("CPUID"), or nullptr.
const char* misc1_name(unsigned bit);
const char* misc2_name(unsigned bit);
}  // namespace intercept

// V_* fields of the int_ctl quadword at 0x060 (APM table B-1, §15.21).
namespace int_ctl {
constexpr uint64_t kVTprMask = 0xff;
constexpr uint64_t kVIrq = 1ull << 8;
constexpr uint64_t kVGif = 1ull << 9;
constexpr uint64_t kVNmi = 1ull << 11;
constexpr uint64_t kVNmiMask = 1ull << 12;
constexpr unsigned kVIntrPrioShift = 16;
constexpr uint64_t kVIntrPrioMask = 0xfull << kVIntrPrioShift;
constexpr uint64_t kVIgnTpr = 1ull << 20;
constexpr uint64_t kVIntrMasking = 1ull << 24;
constexpr uint64_t kVGifEnable = 1ull << 25;
constexpr uint64_t kVNmiEnable = 1ull << 26;
constexpr uint64_t kAvicEnable = 1ull << 31;
constexpr unsigned kVIntrVectorShift = 32;
constexpr uint64_t kVIntrVectorMask = 0xffull << kVIntrVectorShift;
}  // namespace int_ctl

// TLB_CONTROL at 0x05c (APM §15.16.2).
enum class TlbControl : uint8_t {
  nothing = 0,
  flush_all = 1,     // every ASID
  flush_asid = 3,    // this guest's ASID (FlushByAsid)
  flush_asid_non_global = 7,
};

// Event injection, EVENTINJ at 0x0a8 and EXITINTINFO at 0x088 (APM
// §15.20): vector 7:0, type 10:8, EV 11, V 31, error code 63:32.
namespace event {
enum class Type : uint8_t { intr = 0, nmi = 2, exception = 3, soft_int = 4 };
constexpr uint64_t kEv = 1ull << 11;
constexpr uint64_t kValid = 1ull << 31;
constexpr uint64_t make(Type t, uint8_t vector) {
  return kValid | uint64_t(static_cast<uint8_t>(t)) << 8 | vector;
}
constexpr uint64_t make(Type t, uint8_t vector, uint32_t error_code) {
  return make(t, vector) | kEv | uint64_t(error_code) << 32;
}
constexpr uint8_t vector(uint64_t e) { return static_cast<uint8_t>(e); }
constexpr Type type(uint64_t e) { return static_cast<Type>((e >> 8) & 7); }
constexpr uint32_t error_code(uint64_t e) { return static_cast<uint32_t>(e >> 32); }
const char* type_str(Type t);
}  // namespace event

// NP_ENABLE and friends at 0x090 (APM table B-1).
namespace nested_ctl {
constexpr uint64_t kNpEnable = 1ull << 0;
constexpr uint64_t kSevEnable = 1ull << 1;
constexpr uint64_t kSevEsEnable = 1ull << 2;
}  // namespace nested_ctl

// int_state at 0x068.
namespace int_state {
constexpr uint64_t kShadow = 1ull << 0;
constexpr uint64_t kGuestIntMask = 1ull << 1;
}  // namespace int_state

struct VmcbControl {
  uint16_t intercept_cr_read;    // 0x000, bit n: CRn
  uint16_t intercept_cr_write;   // 0x002
  uint16_t intercept_dr_read;    // 0x004
  uint16_t intercept_dr_write;   // 0x006
  uint32_t intercept_exceptions; // 0x008, bit n: vector n
  uint32_t intercept_misc1;      // 0x00c, intercept::Misc1
  uint32_t intercept_misc2;      // 0x010, intercept::Misc2
  uint32_t intercept_misc3;      // 0x014
  uint8_t reserved_018[0x03c - 0x018];
  uint16_t pause_filter_threshold;  // 0x03c
  uint16_t pause_filter_count;      // 0x03e
  uint64_t iopm_base_pa;            // 0x040
  uint64_t msrpm_base_pa;           // 0x048
  uint64_t tsc_offset;              // 0x050
  uint32_t asid;                    // 0x058
  uint8_t tlb_control;              // 0x05c, TlbControl
  uint8_t reserved_05d[3];
  uint64_t int_ctl;                 // 0x060, int_ctl::
  uint64_t int_state;               // 0x068, int_state::
  uint64_t exit_code;               // 0x070, ExitCode
  uint64_t exit_info_1;             // 0x078
  uint64_t exit_info_2;             // 0x080
  uint64_t exit_int_info;           // 0x088, event:: encoding
  uint64_t nested_ctl;              // 0x090, nested_ctl::
  uint64_t avic_apic_bar;           // 0x098
  uint64_t ghcb_gpa;                // 0x0a0
  uint64_t event_inj;               // 0x0a8, event:: encoding
  uint64_t nested_cr3;              // 0x0b0
  uint64_t virt_ext;                // 0x0b8, LBR and VMSAVE/VMLOAD virtualization
  uint32_t clean_bits;              // 0x0c0
  uint32_t reserved_0c4;
  uint64_t next_rip;                // 0x0c8
  uint8_t insn_bytes_fetched;       // 0x0d0
  uint8_t insn_bytes[15];           // 0x0d1
  uint64_t avic_backing_page;       // 0x0e0
  uint64_t reserved_0e8;
  uint64_t avic_logical_table;      // 0x0f0
  uint64_t avic_physical_table;     // 0x0f8
  uint64_t reserved_100;
  uint64_t vmsa_pa;                 // 0x108
  uint8_t reserved_110[0x400 - 0x110];
};
static_assert(sizeof(VmcbControl) == 0x400);
static_assert(offsetof(VmcbControl, intercept_cr_write) == 0x002);
static_assert(offsetof(VmcbControl, intercept_dr_read) == 0x004);
static_assert(offsetof(VmcbControl, intercept_dr_write) == 0x006);
static_assert(offsetof(VmcbControl, intercept_exceptions) == 0x008);
static_assert(offsetof(VmcbControl, intercept_misc1) == 0x00c);
static_assert(offsetof(VmcbControl, intercept_misc2) == 0x010);
static_assert(offsetof(VmcbControl, intercept_misc3) == 0x014);
static_assert(offsetof(VmcbControl, pause_filter_threshold) == 0x03c);
static_assert(offsetof(VmcbControl, pause_filter_count) == 0x03e);
static_assert(offsetof(VmcbControl, iopm_base_pa) == 0x040);
static_assert(offsetof(VmcbControl, msrpm_base_pa) == 0x048);
static_assert(offsetof(VmcbControl, tsc_offset) == 0x050);
static_assert(offsetof(VmcbControl, asid) == 0x058);
static_assert(offsetof(VmcbControl, tlb_control) == 0x05c);
static_assert(offsetof(VmcbControl, int_ctl) == 0x060);
static_assert(offsetof(VmcbControl, int_state) == 0x068);
static_assert(offsetof(VmcbControl, exit_code) == 0x070);
static_assert(offsetof(VmcbControl, exit_info_1) == 0x078);
static_assert(offsetof(VmcbControl, exit_info_2) == 0x080);
static_assert(offsetof(VmcbControl, exit_int_info) == 0x088);
static_assert(offsetof(VmcbControl, nested_ctl) == 0x090);
static_assert(offsetof(VmcbControl, avic_apic_bar) == 0x098);
static_assert(offsetof(VmcbControl, ghcb_gpa) == 0x0a0);
static_assert(offsetof(VmcbControl, event_inj) == 0x0a8);
static_assert(offsetof(VmcbControl, nested_cr3) == 0x0b0);
static_assert(offsetof(VmcbControl, virt_ext) == 0x0b8);
static_assert(offsetof(VmcbControl, clean_bits) == 0x0c0);
static_assert(offsetof(VmcbControl, next_rip) == 0x0c8);
static_assert(offsetof(VmcbControl, insn_bytes_fetched) == 0x0d0);
static_assert(offsetof(VmcbControl, insn_bytes) == 0x0d1);
static_assert(offsetof(VmcbControl, avic_backing_page) == 0x0e0);
static_assert(offsetof(VmcbControl, avic_logical_table) == 0x0f0);
static_assert(offsetof(VmcbControl, avic_physical_table) == 0x0f8);
static_assert(offsetof(VmcbControl, vmsa_pa) == 0x108);

// The state-save area, offsets relative to its start (VMCB offset 0x400).
struct VmcbSave {
  VmcbSegment es, cs, ss, ds, fs, gs;  // 0x000 .. 0x05f
  VmcbSegment gdtr;                    // 0x060 (selector, attrib unused)
  VmcbSegment ldtr;                    // 0x070
  VmcbSegment idtr;                    // 0x080
  VmcbSegment tr;                      // 0x090
  uint8_t reserved_0a0[0x0cb - 0x0a0];
  uint8_t cpl;                         // 0x0cb
  uint32_t reserved_0cc;
  uint64_t efer;                       // 0x0d0
  uint8_t reserved_0d8[0x148 - 0x0d8];
  uint64_t cr4;                        // 0x148
  uint64_t cr3;                        // 0x150
  uint64_t cr0;                        // 0x158
  uint64_t dr7;                        // 0x160
  uint64_t dr6;                        // 0x168
  uint64_t rflags;                     // 0x170
  uint64_t rip;                        // 0x178
  uint8_t reserved_180[0x1d8 - 0x180];
  uint64_t rsp;                        // 0x1d8
  uint64_t s_cet;                      // 0x1e0
  uint64_t ssp;                        // 0x1e8
  uint64_t isst_addr;                  // 0x1f0
  uint64_t rax;                        // 0x1f8
  uint64_t star;                       // 0x200
  uint64_t lstar;                      // 0x208
  uint64_t cstar;                      // 0x210
  uint64_t sfmask;                     // 0x218
  uint64_t kernel_gs_base;             // 0x220
  uint64_t sysenter_cs;                // 0x228
  uint64_t sysenter_esp;               // 0x230
  uint64_t sysenter_eip;               // 0x238
  uint64_t cr2;                        // 0x240
  uint8_t reserved_248[0x268 - 0x248];
  uint64_t g_pat;                      // 0x268
  uint64_t dbgctl;                     // 0x270
  uint64_t br_from;                    // 0x278
  uint64_t br_to;                      // 0x280
  uint64_t last_excp_from;             // 0x288
  uint64_t last_excp_to;               // 0x290
  uint8_t reserved_298[0xc00 - 0x298];
};
static_assert(sizeof(VmcbSave) == 0xc00);
static_assert(offsetof(VmcbSave, cs) == 0x010);
static_assert(offsetof(VmcbSave, ss) == 0x020);
static_assert(offsetof(VmcbSave, ds) == 0x030);
static_assert(offsetof(VmcbSave, fs) == 0x040);
static_assert(offsetof(VmcbSave, gs) == 0x050);
static_assert(offsetof(VmcbSave, gdtr) == 0x060);
static_assert(offsetof(VmcbSave, ldtr) == 0x070);
static_assert(offsetof(VmcbSave, idtr) == 0x080);
static_assert(offsetof(VmcbSave, tr) == 0x090);
static_assert(offsetof(VmcbSave, cpl) == 0x0cb);
static_assert(offsetof(VmcbSave, efer) == 0x0d0);
static_assert(offsetof(VmcbSave, cr4) == 0x148);
static_assert(offsetof(VmcbSave, cr3) == 0x150);
static_assert(offsetof(VmcbSave, cr0) == 0x158);
static_assert(offsetof(VmcbSave, dr7) == 0x160);
static_assert(offsetof(VmcbSave, dr6) == 0x168);
static_assert(offsetof(VmcbSave, rflags) == 0x170);
static_assert(offsetof(VmcbSave, rip) == 0x178);
static_assert(offsetof(VmcbSave, rsp) == 0x1d8);
static_assert(offsetof(VmcbSave, rax) == 0x1f8);
static_assert(offsetof(VmcbSave, star) == 0x200);
static_assert(offsetof(VmcbSave, lstar) == 0x208);
static_assert(offsetof(VmcbSave, cstar) == 0x210);
static_assert(offsetof(VmcbSave, sfmask) == 0x218);
static_assert(offsetof(VmcbSave, kernel_gs_base) == 0x220);
static_assert(offsetof(VmcbSave, sysenter_cs) == 0x228);
static_assert(offsetof(VmcbSave, sysenter_esp) == 0x230);
static_assert(offsetof(VmcbSave, sysenter_eip) == 0x238);
static_assert(offsetof(VmcbSave, cr2) == 0x240);
static_assert(offsetof(VmcbSave, g_pat) == 0x268);
static_assert(offsetof(VmcbSave, dbgctl) == 0x270);
static_assert(offsetof(VmcbSave, last_excp_to) == 0x290);

struct alignas(4096) Vmcb {
  VmcbControl control;
  VmcbSave save;
};
static_assert(sizeof(Vmcb) == 4096);
static_assert(offsetof(Vmcb, save) == 0x400);

// Exit codes (APM vol.2 appendix C).
enum class ExitCode : uint64_t {
  read_cr0 = 0x000,   // + n for CRn
  write_cr0 = 0x010,  // + n
  read_dr0 = 0x020,
  write_dr0 = 0x030,
  excp_base = 0x040,  // + vector
  intr = 0x060, nmi = 0x061, smi = 0x062, init = 0x063, vintr = 0x064,
  cr0_sel_write = 0x065, idtr_read = 0x066, gdtr_read = 0x067, ldtr_read = 0x068,
  tr_read = 0x069, idtr_write = 0x06a, gdtr_write = 0x06b, ldtr_write = 0x06c,
  tr_write = 0x06d, rdtsc = 0x06e, rdpmc = 0x06f, pushf = 0x070, popf = 0x071,
  cpuid = 0x072, rsm = 0x073, iret = 0x074, swint = 0x075, invd = 0x076, pause = 0x077,
  hlt = 0x078, invlpg = 0x079, invlpga = 0x07a, ioio = 0x07b, msr = 0x07c,
  task_switch = 0x07d, ferr_freeze = 0x07e, shutdown = 0x07f,
  vmrun = 0x080, vmmcall = 0x081, vmload = 0x082, vmsave = 0x083, stgi = 0x084,
  clgi = 0x085, skinit = 0x086, rdtscp = 0x087, icebp = 0x088, wbinvd = 0x089,
  monitor = 0x08a, mwait = 0x08b, mwait_conditional = 0x08c, xsetbv = 0x08d,
  rdpru = 0x08e, efer_write_trap = 0x08f,
  npf = 0x400, avic_incomplete_ipi = 0x401, avic_noaccel = 0x402, vmgexit = 0x403,
  invalid = ~0ull,  // VMEXIT_INVALID: VMRUN found illegal guest state
};
constexpr ExitCode read_cr(unsigned n) { return ExitCode(0x000 + n); }
constexpr ExitCode write_cr(unsigned n) { return ExitCode(0x010 + n); }
constexpr ExitCode read_dr(unsigned n) { return ExitCode(0x020 + n); }
constexpr ExitCode write_dr(unsigned n) { return ExitCode(0x030 + n); }
constexpr ExitCode exception(unsigned vector) { return ExitCode(0x040 + vector); }

// "CPUID", "READ_CR3", "EXCP #PF"-style names ("exit 0x1234" for unknown
// codes), in a buffer of the caller's.
const char* exit_code_str(ExitCode c, char* buf, size_t size);

// IOIO EXITINFO1 (APM §15.10.2, figure 15-2): the port in 31:16.
namespace ioio {
constexpr uint64_t kIn = 1ull << 0;
constexpr uint64_t kStr = 1ull << 2;
constexpr uint64_t kRep = 1ull << 3;
constexpr uint64_t kSz8 = 1ull << 4;
constexpr uint64_t kSz16 = 1ull << 5;
constexpr uint64_t kSz32 = 1ull << 6;
constexpr uint64_t kA16 = 1ull << 7;
constexpr uint64_t kA32 = 1ull << 8;
constexpr uint64_t kA64 = 1ull << 9;
constexpr unsigned kSegShift = 10;
constexpr unsigned kPortShift = 16;
constexpr uint16_t port(uint64_t info1) { return static_cast<uint16_t>(info1 >> kPortShift); }
// "IN port 0x80 8-bit A64" into buf.
const char* info1_str(uint64_t info1, char* buf, size_t size);
}  // namespace ioio

// NPF EXITINFO1 (APM §15.25.6): the #PF error-code bits, plus whether the
// fault hit the final guest-physical address or the guest's page walk.
namespace npf {
constexpr uint64_t kP = 1ull << 0;
constexpr uint64_t kW = 1ull << 1;
constexpr uint64_t kU = 1ull << 2;
constexpr uint64_t kRsvd = 1ull << 3;
constexpr uint64_t kId = 1ull << 4;
constexpr uint64_t kFinalGpa = 1ull << 32;
constexpr uint64_t kGuestWalk = 1ull << 33;
// "P W U final-GPA" into buf.
const char* info1_str(uint64_t info1, char* buf, size_t size);
}  // namespace npf

// MSR EXITINFO1 (APM §15.11): 0 for RDMSR, 1 for WRMSR.
namespace msr_exit {
constexpr uint64_t kRead = 0;
constexpr uint64_t kWrite = 1;
}  // namespace msr_exit

}  // namespace svm
