// emulator: instruction semantics with the memory operand in RAM and in
// MMIO. Under KVM an access to RAM runs natively, while an access to an
// MMIO page exits and is carried out by KVM's instruction emulator; under
// TCG the two take different paths through QEMU's softmmu (the RAM fast
// path, and MemoryRegionOps callbacks). The architecture does not care
// where the operand lives, so each case runs twice from the same starting
// state (registers, RFLAGS, a 1 KiB operand area, a RAM scratch area) and
// must end in the same state: six result registers, the arithmetic flags,
// both areas and the fault, if any. Where the outcome is easy to state,
// the RAM run is also checked against the instruction's definition
// (Intel SDM vol.2 entry of each; AMD APM vol.3): MOV of each width,
// MOVZX/MOVSX/MOVSXD and the moffs forms (which take an absolute address,
// so the area is aliased at a fixed linear address for them); MOVS, STOS,
// LODS, CMPS and SCAS with REP/REPE/REPNE, DF=0 and DF=1 and counts of 0,
// 1 and many, a count of 0 changing nothing, not even the flags (SDM
// vol.2B "REP/REPE/REPZ/REPNE/REPNZ"); XCHG, CMPXCHG, CMPXCHG8B/16B and
// XADD with and without LOCK (vol.3A §9.1.2); ALU operations with a
// memory destination, DIV by zero raising #DE; BT, BTS, BTR and BTC with
// a register bit offset beyond the operand in either direction, which
// addresses the bit string at offset/8 rather than wrapping (vol.2A "BT":
// a register offset ranges over -2^63 to 2^63-1); PUSH and POP
// of memory, CALL and JMP through memory, and CALL, RET, LRET and IRETQ
// with the stack itself in the area; far JMP through an m16:32 pointer;
// LFS, LGS and LSS from m16:32 and, with REX.W, from m16:64, far JMP and
// far CALL (returning through LRET) through an m16:64 pointer, where
// Intel 64 honours REX.W and AMD64 ignores it, so the expected result
// follows the CPUID vendor; #NP(selector) and #SS(selector) for a
// not-present descriptor and #GP(selector) for an SS selector whose RPL
// is not the CPL (vol.2A "LDS/LES/LFS/LGS/LSS", exceptions);
// MOVBE, SHLD and SHRD, a count of 0 changing nothing; MOVAPS, MOVUPS,
// MOVDQA, MOVQ/MOVD, VMOVDQU (VEX.128 zeroing YMM[255:128], SDM vol.1
// §14.1.3) and #GP(0) for a misaligned MOVAPS (vol.2B "MOVAPS",
// exceptions); FXSAVE/FXRSTOR and #GP(0) for an area not 16-byte aligned
// (vol.2A "FXSAVE"); SMSW and LMSW, which cannot clear CR0.PE (vol.2A
// "LMSW"); segment loads from memory, #GP(selector) past the GDT limit
// (vol.2B "MOV", exceptions); LGDT/LIDT from the area. A #PF in the
// middle of a REP MOVSB, reading or writing, either direction, must
// report the first byte of the missing page in CR2 and leave RCX, RSI and
// RDI at that element, so the instruction can restart (vol.2B "REP",
// vol.3A §6.5: a fault reports the state before the faulting iteration,
// and the string instructions update the registers per iteration). The MMIO region is
// the Controller Memory Buffer of an NVMe controller found by its PCI
// class code and located through CAP.CMBS, CMBMSC.CRE, CMBLOC and CMBSZ
// (NVMe 1.4 §3.1.1, §3.1.11, §3.1.12, §3.1.23); QEMU backs it with
// MemoryRegionOps over a host buffer (hw/nvme/ctrl.c, nvme_cmb_ops), so it
// reads back what was written and is not RAM to KVM, which the test
// checks before using it. Forced emulation: with KVM's
// force_emulation_prefix parameter on, ud2 followed by "kvm" makes KVM
// emulate the next instruction; the test detects it at run time (the
// sequence raises #UD when it is off) and then runs every case a third
// and fourth time through it, on MMIO and on RAM; otherwise those checks
// SKIP, once per class, with the reason.
#include <cstddef>
#include <cstdint>

#include "cpu/desc.h"
#include "cpu/exceptions.h"
#include "mem/paging.h"
#include "cpu/processor.h"
#include "cpu/usermode.h"
#include "cpu/xsave.h"
#include "mem/memory.h"
#include "pci/bar.h"
#include "pci/nvme.h"
#include "rt/expect.h"
#include "rt/format.h"
#include "rt/report.h"
#include "rt/string.h"

namespace {

constexpr unsigned kAreaSize = 1024;
constexpr unsigned kScratchSize = 64;
constexpr uint64_t kArithFlags = rflags::kCarry | rflags::kParity | rflags::kAdjust |
                                 rflags::kZero | rflags::kSign | rflags::kOverflow;

// The RAM side of a run, addressed by %r9 in the cases: scratch bytes, the
// RFLAGS to start with and the RFLAGS at the end.
struct alignas(64) Side {
  uint8_t scratch[kScratchSize];
  uint64_t flags_in;
  uint64_t flags_out;
  uint64_t aux;  // a RAM pointer some cases need (at offset 80)
  uint64_t gs_base;  // IA32_GS_BASE before the run (at offset 88)
};
static_assert(offsetof(Side, flags_in) == 64 && offsetof(Side, flags_out) == 72 &&
              offsetof(Side, aux) == 80 && offsetof(Side, gs_base) == 88);

struct Gprs {
  uint64_t rax, rbx, rcx, rdx, rsi, rdi;
  constexpr bool operator==(const Gprs&) const = default;
};

// Everything one run leaves behind.
struct Outcome {
  Gprs g;
  uint64_t flags;
  ExInfo ex;
  uint8_t area[kAreaSize];
  uint8_t scratch[kScratchSize];
};

// The case body: area in %r8, Side in %r9; %r10 and %r11 are free.
using Body = void (*)(Gprs* g, uint8_t* area, Side* side);

// ud2 followed by "kvm": KVM's forced-emulation prefix (when the module
// parameter is on, KVM emulates the instruction after it).
#define FEP ".if %c[fep]\n\tud2\n\t.ascii \"kvm\"\n\t.endif\n\t"

// One case as a template over the prefix: `text` is the instruction(s)
// under test, between setting RFLAGS from side->flags_in and saving them
// to side->flags_out; `post` runs after that (to make addresses relative
// to the area, which differs between the runs).
#define EMU_CASE2(id, text, post)                                                       \
  template <bool kFep>                                                                  \
  void id(Gprs* g, uint8_t* area, Side* side) {                                         \
    register uint8_t* r8 asm("r8") = area;                                              \
    register Side* r9 asm("r9") = side;                                                 \
    asm volatile("pushq 64(%%r9)\n\tpopfq\n\t" text                                     \
                 "\n\tpushfq\n\tpopq 72(%%r9)\n\tcld\n\t" post                          \
                 : "+a"(g->rax), "+b"(g->rbx), "+c"(g->rcx), "+d"(g->rdx), "+S"(g->rsi), \
                   "+D"(g->rdi)                                                         \
                 : "r"(r8), "r"(r9), [fep] "i"(kFep)                                    \
                 : "r10", "r11", "memory", "cc");                                       \
  }
#define EMU_CASE(id, text) EMU_CASE2(id, text, "")
// String cases: RSI and RDI come back as offsets from the area.
#define REL "sub %%r8, %%rsi\n\tsub %%r8, %%rdi"
#define REL_DI "sub %%r8, %%rdi"
#define REL_SI "sub %%r8, %%rsi"
#define BODIES(id) id<false>, id<true>

struct Case {
  const char* name;
  Body plain;
  Body forced;
  // The architectural result of the RAM run, where stated; null: compared
  // between the runs only.
  bool (*expect)(const Outcome& o) = nullptr;
  const char* expect_what = nullptr;
  uint64_t flags_in = rflags::kFixed1;
  const cpu::CpuidBit* needs = nullptr;
  // The case addresses the area at the fixed kAliasVa (moffs forms take
  // an absolute address in the instruction).
  bool alias = false;
  // A far pointer with a 32-bit offset to our own code.
  bool low_code = false;
  // The case loads FS, GS or SS: run with interrupts off, FS and GS
  // (selectors and bases) put back afterwards (the per-CPU block hangs off
  // the GS base).
  bool segs = false;
  // Intel 64 and AMD64 define the case differently (REX.W on far
  // pointers): what to expect on an AMD or Hygon CPU, and its wording.
  bool (*expect_amd)(const Outcome& o) = nullptr;
  const char* expect_what_amd = nullptr;
  // A known difference that makes the RAM check an XFAIL (it prints its
  // INFO line when it holds).
  bool (*xfail)() = nullptr;
};

// AMD64 semantics for the REX.W far-pointer forms (set in main).
bool amd_like;

// The starting contents of the operand area and of the scratch area.
constexpr uint8_t area_byte(unsigned i) { return uint8_t(i * 7 + 3); }
constexpr uint8_t scratch_byte(unsigned i) { return uint8_t(0xc5 ^ (i * 29)); }
constexpr uint64_t area_le(unsigned off, unsigned n = 8) {
  uint64_t v = 0;
  for (unsigned i = 0; i < n; ++i) v |= uint64_t(area_byte(off + i)) << (8 * i);
  return v;
}
uint64_t out_le(const uint8_t* p, unsigned n = 8) {
  uint64_t v = 0;
  for (unsigned i = 0; i < n; ++i) v |= uint64_t(p[i]) << (8 * i);
  return v;
}
// The area unchanged except for [off, off + n).
bool area_same_except(const Outcome& o, unsigned off, unsigned n) {
  for (unsigned i = 0; i < kAreaSize; ++i)
    if ((i < off || i >= off + n) && o.area[i] != area_byte(i)) return false;
  return true;
}

constexpr uint64_t kJunk = 0x1111222233334444ull;
constexpr Gprs kGprs{kJunk, 0x5555666677778888ull, 0x99990000aaaabbbbull, 0xccccddddeeeeffffull,
                     0x0123456789abcdefull, 0xfedcba9876543210ull};
constexpr uint64_t kFlags0 = rflags::kFixed1;
constexpr uint64_t kFlagsCf = rflags::kFixed1 | rflags::kCarry;
constexpr uint64_t kFlagsDf = rflags::kFixed1 | rflags::kDirection;
// Where moffs cases find the area: a fixed virtual address mapped to the
// RAM page or to the CMB page for the run.
constexpr uint64_t kAliasVa = 0x0000700000000000ull;
#define ALIAS(off) "0x7000000000" #off

bool area_only(const Outcome& o, unsigned off, uint64_t v, unsigned n) {
  return out_le(o.area + off, n) == v && area_same_except(o, off, n);
}
bool area_untouched(const Outcome& o) { return area_same_except(o, 0, 0); }

// ---- MOV ----
EMU_CASE(mov8_load, FEP "movb 5(%%r8), %%al")
EMU_CASE(mov16_load, FEP "movw 6(%%r8), %%ax")
EMU_CASE(mov32_load, FEP "movl 12(%%r8), %%eax")
EMU_CASE(mov64_load, FEP "movq 17(%%r8), %%rax")
EMU_CASE(mov8_store, FEP "movb %%bl, 3(%%r8)")
EMU_CASE(mov16_store, FEP "movw %%bx, 9(%%r8)")
EMU_CASE(mov32_store, FEP "movl %%ebx, 21(%%r8)")
EMU_CASE(mov64_store, FEP "movq %%rbx, 35(%%r8)")
EMU_CASE(mov8_imm, FEP "movb $0x9c, 40(%%r8)")
EMU_CASE(mov64_imm, FEP "movq $-2, 48(%%r8)")
EMU_CASE(movzx8, FEP "movzbl 7(%%r8), %%eax")
EMU_CASE(movzx16, FEP "movzwq 10(%%r8), %%rax")
EMU_CASE(movsx8, FEP "movsbq 18(%%r8), %%rax")
EMU_CASE(movsx16, FEP "movswl 18(%%r8), %%eax")
EMU_CASE(movsxd, FEP "movslq 18(%%r8), %%rax")
EMU_CASE(moffs8_load, FEP "movabsb " ALIAS(10) ", %%al")
EMU_CASE(moffs64_load, FEP "movabsq " ALIAS(20) ", %%rax")
EMU_CASE(moffs32_store, FEP "movabsl %%eax, " ALIAS(30))
EMU_CASE(moffs16_store, FEP "movabsw %%ax, " ALIAS(41))

constexpr uint64_t sx8(uint64_t v) { return uint64_t(int64_t(int8_t(v))); }
constexpr uint64_t sx16(uint64_t v) { return uint64_t(int64_t(int16_t(v))); }
constexpr uint64_t sx32(uint64_t v) { return uint64_t(int64_t(int32_t(v))); }

const Case kMovCases[] = {
    {"MOV r8, m8", BODIES(mov8_load),
     [](const Outcome& o) { return o.g.rax == ((kJunk & ~0xffull) | area_le(5, 1)); },
     "AL loaded, RAX[63:8] kept"},
    {"MOV r16, m16", BODIES(mov16_load),
     [](const Outcome& o) { return o.g.rax == ((kJunk & ~0xffffull) | area_le(6, 2)); },
     "AX loaded, RAX[63:16] kept"},
    {"MOV r32, m32", BODIES(mov32_load),
     [](const Outcome& o) { return o.g.rax == area_le(12, 4); }, "EAX loaded, zero-extended"},
    {"MOV r64, m64 (unaligned)", BODIES(mov64_load),
     [](const Outcome& o) { return o.g.rax == area_le(17); }, "RAX loaded"},
    {"MOV m8, r8", BODIES(mov8_store),
     [](const Outcome& o) { return area_only(o, 3, kGprs.rbx & 0xff, 1); }, "one byte stored"},
    {"MOV m16, r16 (unaligned)", BODIES(mov16_store),
     [](const Outcome& o) { return area_only(o, 9, kGprs.rbx & 0xffff, 2); },
     "two bytes stored"},
    {"MOV m32, r32 (unaligned)", BODIES(mov32_store),
     [](const Outcome& o) { return area_only(o, 21, kGprs.rbx & 0xffffffff, 4); },
     "four bytes stored"},
    {"MOV m64, r64 (unaligned)", BODIES(mov64_store),
     [](const Outcome& o) { return area_only(o, 35, kGprs.rbx, 8); }, "eight bytes stored"},
    {"MOV m8, imm8", BODIES(mov8_imm),
     [](const Outcome& o) { return area_only(o, 40, 0x9c, 1); }, "the immediate stored"},
    {"MOV m64, imm32", BODIES(mov64_imm),
     [](const Outcome& o) { return area_only(o, 48, ~1ull, 8); },
     "the sign-extended immediate stored"},
    {"MOVZX r32, m8", BODIES(movzx8),
     [](const Outcome& o) { return o.g.rax == area_le(7, 1); }, "zero-extended"},
    {"MOVZX r64, m16", BODIES(movzx16),
     [](const Outcome& o) { return o.g.rax == area_le(10, 2); }, "zero-extended"},
    {"MOVSX r64, m8", BODIES(movsx8),
     [](const Outcome& o) { return o.g.rax == sx8(area_le(18, 1)); }, "sign-extended"},
    {"MOVSX r32, m16", BODIES(movsx16),
     [](const Outcome& o) { return o.g.rax == (sx16(area_le(18, 2)) & 0xffffffff); },
     "sign-extended to 32 bits, then zero-extended"},
    {"MOVSXD r64, m32", BODIES(movsxd),
     [](const Outcome& o) { return o.g.rax == sx32(area_le(18, 4)); }, "sign-extended"},
    {"MOV AL, moffs8", BODIES(moffs8_load),
     [](const Outcome& o) { return o.g.rax == ((kJunk & ~0xffull) | area_le(0x10, 1)); },
     "AL loaded from the absolute address", rflags::kFixed1, nullptr, true},
    {"MOV RAX, moffs64", BODIES(moffs64_load),
     [](const Outcome& o) { return o.g.rax == area_le(0x20); },
     "RAX loaded from the absolute address", rflags::kFixed1, nullptr, true},
    {"MOV moffs32, EAX", BODIES(moffs32_store),
     [](const Outcome& o) { return area_only(o, 0x30, kJunk & 0xffffffff, 4); },
     "EAX stored at the absolute address", rflags::kFixed1, nullptr, true},
    {"MOV moffs16, AX", BODIES(moffs16_store),
     [](const Outcome& o) { return area_only(o, 0x41, kJunk & 0xffff, 2); },
     "AX stored at the absolute address", rflags::kFixed1, nullptr, true},
};

// ---- string instructions ----
// Source and destination at area offsets; RSI/RDI come back relative.
#define SRC_DST(s, d) "lea " #s "(%%r8), %%rsi\n\tlea " #d "(%%r8), %%rdi\n\t"
EMU_CASE2(movsb_rep0, SRC_DST(8, 600) "mov $0, %%ecx\n\t" FEP "rep movsb", REL)
EMU_CASE2(movsb_rep1, SRC_DST(8, 600) "mov $1, %%ecx\n\t" FEP "rep movsb", REL)
EMU_CASE2(movsb_rep37, SRC_DST(8, 600) "mov $37, %%ecx\n\t" FEP "rep movsb", REL)
EMU_CASE2(movsb_rep37_down, SRC_DST(44, 636) "mov $37, %%ecx\n\t" FEP "rep movsb", REL)
EMU_CASE2(movsq_rep5_down, SRC_DST(64, 640) "mov $5, %%ecx\n\t" FEP "rep movsq", REL)
EMU_CASE2(movsw_one, SRC_DST(3, 601) FEP "movsw", REL)
EMU_CASE2(movsb_overlap, SRC_DST(100, 101) "mov $20, %%ecx\n\t" FEP "rep movsb", REL)
EMU_CASE2(movsd_to_ram,
          "lea 4(%%r8), %%rsi\n\tlea 8(%%r9), %%rdi\n\tmov $9, %%ecx\n\t" FEP "rep movsl",
          "sub %%r8, %%rsi\n\tsub %%r9, %%rdi")
EMU_CASE2(movsb_from_ram,
          "lea 1(%%r9), %%rsi\n\tlea 300(%%r8), %%rdi\n\tmov $33, %%ecx\n\t" FEP "rep movsb",
          "sub %%r9, %%rsi\n\tsub %%r8, %%rdi")
EMU_CASE2(stosb_rep0, "lea 200(%%r8), %%rdi\n\tmov $0, %%ecx\n\t" FEP "rep stosb", REL_DI)
EMU_CASE2(stosb_rep1, "lea 200(%%r8), %%rdi\n\tmov $1, %%ecx\n\t" FEP "rep stosb", REL_DI)
EMU_CASE2(stosb_rep50, "lea 200(%%r8), %%rdi\n\tmov $50, %%ecx\n\t" FEP "rep stosb", REL_DI)
EMU_CASE2(stosq_rep7_down, "lea 256(%%r8), %%rdi\n\tmov $7, %%ecx\n\t" FEP "rep stosq", REL_DI)
EMU_CASE2(stosw_one, "lea 201(%%r8), %%rdi\n\t" FEP "stosw", REL_DI)
EMU_CASE2(lodsb_one, "lea 77(%%r8), %%rsi\n\t" FEP "lodsb", REL_SI)
EMU_CASE2(lodsq_rep3, "lea 80(%%r8), %%rsi\n\tmov $3, %%ecx\n\t" FEP "rep lodsq", REL_SI)
EMU_CASE2(lodsl_down, "lea 80(%%r8), %%rsi\n\t" FEP "lodsl", REL_SI)
// The halves [0, 256) and [256, 512) hold the same bytes (7 * 256 is 0
// mod 256) until one is changed.
EMU_CASE2(cmpsb_repe_mismatch,
          "movb $0, 269(%%r8)\n\t" SRC_DST(0, 256) "mov $40, %%ecx\n\t" FEP "repe cmpsb", REL)
EMU_CASE2(cmpsb_repe_equal, SRC_DST(0, 256) "mov $40, %%ecx\n\t" FEP "repe cmpsb", REL)
EMU_CASE2(cmpsb_repe0, SRC_DST(0, 256) "mov $0, %%ecx\n\t" FEP "repe cmpsb", REL)
EMU_CASE2(cmpsb_repne, SRC_DST(0, 256) "mov $40, %%ecx\n\t" FEP "repne cmpsb", REL)
EMU_CASE2(cmpsq_down, SRC_DST(16, 272) FEP "cmpsq", REL)
EMU_CASE2(cmpsw_repe_down,
          "movw $0, 300(%%r8)\n\t" SRC_DST(80, 336) "mov $30, %%ecx\n\t" FEP "repe cmpsw", REL)
EMU_CASE2(scasb_repne_found,
          "lea 0(%%r8), %%rdi\n\tmovb 20(%%r8), %%al\n\tmov $100, %%ecx\n\t" FEP "repne scasb", REL_DI)
EMU_CASE2(scasb_repe, "lea 0(%%r8), %%rdi\n\tmovb 0(%%r8), %%al\n\tmov $100, %%ecx\n\t" FEP
                      "repe scasb", REL_DI)
EMU_CASE2(scasw_repne_down_missing,
          "lea 40(%%r8), %%rdi\n\tmov $0x5a5a, %%eax\n\tmov $5, %%ecx\n\t" FEP "repne scasw", REL_DI)
EMU_CASE2(scasq_one, "lea 24(%%r8), %%rdi\n\tmovq 24(%%r8), %%rax\n\t" FEP "scasq", REL_DI)

const Case kStringCases[] = {
    {"REP MOVSB, RCX=0", BODIES(movsb_rep0),
     [](const Outcome& o) {
       return o.g.rcx == 0 && o.g.rsi == 8 && o.g.rdi == 600 && area_untouched(o) &&
              o.flags == (kFlagsCf & kArithFlags);
     },
     "nothing moved, RSI/RDI/flags kept", kFlagsCf},
    {"REP MOVSB, RCX=1", BODIES(movsb_rep1),
     [](const Outcome& o) {
       return o.g.rcx == 0 && o.g.rsi == 9 && o.g.rdi == 601 && area_only(o, 600, area_le(8, 1), 1);
     },
     "one byte moved"},
    {"REP MOVSB, RCX=37", BODIES(movsb_rep37),
     [](const Outcome& o) {
       for (unsigned i = 0; i < 37; ++i)
         if (o.area[600 + i] != area_byte(8 + i)) return false;
       return o.g.rcx == 0 && o.g.rsi == 45 && o.g.rdi == 637 && area_same_except(o, 600, 37);
     },
     "37 bytes moved"},
    {"REP MOVSB, RCX=37, DF=1", BODIES(movsb_rep37_down),
     [](const Outcome& o) {
       for (unsigned i = 0; i < 37; ++i)
         if (o.area[600 + i] != area_byte(8 + i)) return false;
       return o.g.rcx == 0 && o.g.rsi == 7 && o.g.rdi == 599 && area_same_except(o, 600, 37);
     },
     "37 bytes moved downwards", kFlagsDf},
    {"REP MOVSQ, RCX=5, DF=1", BODIES(movsq_rep5_down),
     [](const Outcome& o) {
       for (unsigned i = 0; i < 40; ++i)
         if (o.area[608 + i] != area_byte(32 + i)) return false;
       return o.g.rcx == 0 && o.g.rsi == 24 && o.g.rdi == 600 && area_same_except(o, 608, 40);
     },
     "5 quadwords moved downwards", kFlagsDf},
    {"MOVSW", BODIES(movsw_one),
     [](const Outcome& o) {
       return o.g.rsi == 5 && o.g.rdi == 603 && area_only(o, 601, area_le(3, 2), 2) &&
              o.g.rcx == kGprs.rcx;
     },
     "one word moved, RCX kept"},
    {"REP MOVSB, overlapping by one", BODIES(movsb_overlap),
     [](const Outcome& o) {
       for (unsigned i = 0; i < 21; ++i)
         if (o.area[100 + i] != area_byte(100)) return false;
       return area_same_except(o, 101, 20);
     },
     "the first byte repeated (byte-by-byte semantics)"},
    {"REP MOVSD, MMIO to RAM", BODIES(movsd_to_ram),
     [](const Outcome& o) {
       for (unsigned i = 0; i < 36; ++i)
         if (o.scratch[8 + i] != area_byte(4 + i)) return false;
       return o.g.rsi == 40 && o.g.rdi == 44 && area_untouched(o);
     },
     "36 bytes moved"},
    {"REP MOVSB, RAM to MMIO", BODIES(movsb_from_ram),
     [](const Outcome& o) {
       for (unsigned i = 0; i < 33; ++i)
         if (o.area[300 + i] != scratch_byte(1 + i)) return false;
       return o.g.rsi == 34 && o.g.rdi == 333 && area_same_except(o, 300, 33);
     },
     "33 bytes moved"},
    {"REP STOSB, RCX=0", BODIES(stosb_rep0),
     [](const Outcome& o) { return o.g.rcx == 0 && o.g.rdi == 200 && area_untouched(o); },
     "nothing stored"},
    {"REP STOSB, RCX=1", BODIES(stosb_rep1),
     [](const Outcome& o) { return o.g.rdi == 201 && area_only(o, 200, kJunk & 0xff, 1); },
     "AL stored once"},
    {"REP STOSB, RCX=50", BODIES(stosb_rep50),
     [](const Outcome& o) {
       for (unsigned i = 0; i < 50; ++i)
         if (o.area[200 + i] != (kJunk & 0xff)) return false;
       return o.g.rcx == 0 && o.g.rdi == 250 && area_same_except(o, 200, 50);
     },
     "AL stored 50 times"},
    {"REP STOSQ, RCX=7, DF=1", BODIES(stosq_rep7_down),
     [](const Outcome& o) {
       for (unsigned i = 0; i < 7; ++i)
         if (out_le(o.area + 208 + 8 * i) != kJunk) return false;
       return o.g.rcx == 0 && o.g.rdi == 200 && area_same_except(o, 208, 56);
     },
     "RAX stored 7 times downwards", kFlagsDf},
    {"STOSW", BODIES(stosw_one),
     [](const Outcome& o) { return o.g.rdi == 203 && area_only(o, 201, kJunk & 0xffff, 2); },
     "AX stored"},
    {"LODSB", BODIES(lodsb_one),
     [](const Outcome& o) {
       return o.g.rsi == 78 && o.g.rax == ((kJunk & ~0xffull) | area_le(77, 1));
     },
     "AL loaded"},
    {"REP LODSQ, RCX=3", BODIES(lodsq_rep3),
     [](const Outcome& o) { return o.g.rcx == 0 && o.g.rsi == 104 && o.g.rax == area_le(96); },
     "RAX holds the third quadword"},
    {"LODSD, DF=1", BODIES(lodsl_down),
     [](const Outcome& o) { return o.g.rsi == 76 && o.g.rax == area_le(80, 4); },
     "EAX loaded, RSI down by 4", kFlagsDf},
    {"REPE CMPSB, mismatch at 13", BODIES(cmpsb_repe_mismatch),
     [](const Outcome& o) {
       return o.g.rcx == 40 - 14 && o.g.rsi == 14 && o.g.rdi == 270 && !(o.flags & rflags::kZero);
     },
     "stops after the mismatch, ZF=0"},
    {"REPE CMPSB, all equal", BODIES(cmpsb_repe_equal),
     [](const Outcome& o) { return o.g.rcx == 0 && o.g.rsi == 40 && (o.flags & rflags::kZero); },
     "runs out, ZF=1"},
    {"REPE CMPSB, RCX=0", BODIES(cmpsb_repe0),
     [](const Outcome& o) {
       return o.g.rcx == 0 && o.g.rsi == 0 && o.flags == (kFlagsCf & kArithFlags);
     },
     "compares nothing, flags kept", kFlagsCf},
    {"REPNE CMPSB, equal at once", BODIES(cmpsb_repne),
     [](const Outcome& o) { return o.g.rcx == 39 && o.g.rsi == 1 && (o.flags & rflags::kZero); },
     "stops after one, ZF=1"},
    {"CMPSQ, DF=1", BODIES(cmpsq_down),
     [](const Outcome& o) {
       return o.g.rsi == 8 && o.g.rdi == 264 && (o.flags & rflags::kZero) && o.g.rcx == kGprs.rcx;
     },
     "equal quadwords, both down by 8", kFlagsDf},
    {"REPE CMPSW, DF=1, mismatch", BODIES(cmpsw_repe_down),
     [](const Outcome& o) {
       // Words at 336, 334, ...; 300 differs from 44: the 19th compare.
       return o.g.rcx == 30 - 19 && o.g.rsi == 42 && o.g.rdi == 298 && !(o.flags & rflags::kZero);
     },
     "stops after the mismatch at 300", kFlagsDf},
    {"REPNE SCASB, found", BODIES(scasb_repne_found),
     [](const Outcome& o) {
       return o.g.rcx == 100 - 21 && o.g.rdi == 21 && (o.flags & rflags::kZero);
     },
     "stops after byte 20, ZF=1"},
    {"REPE SCASB, mismatch at 1", BODIES(scasb_repe),
     [](const Outcome& o) { return o.g.rcx == 98 && o.g.rdi == 2 && !(o.flags & rflags::kZero); },
     "stops after byte 1, ZF=0"},
    {"REPNE SCASW, DF=1, not found", BODIES(scasw_repne_down_missing),
     [](const Outcome& o) { return o.g.rcx == 0 && o.g.rdi == 30 && !(o.flags & rflags::kZero); },
     "runs out, ZF=0", kFlagsDf},
    {"SCASQ", BODIES(scasq_one),
     [](const Outcome& o) { return o.g.rdi == 32 && (o.flags & rflags::kZero); },
     "equal, ZF=1"},
};

// ---- XCHG, CMPXCHG, XADD ----
EMU_CASE(xchg8, FEP "xchgb %%bl, 5(%%r8)")
EMU_CASE(xchg32, FEP "xchgl %%ebx, 12(%%r8)")
EMU_CASE(xchg64, FEP "xchgq %%rbx, 24(%%r8)")
EMU_CASE(cmpxchg32_hit, "movl 12(%%r8), %%eax\n\t" FEP "cmpxchgl %%ebx, 12(%%r8)")
EMU_CASE(cmpxchg32_miss, FEP "cmpxchgl %%ebx, 12(%%r8)")
EMU_CASE(lock_cmpxchg64_hit, "movq 24(%%r8), %%rax\n\t" FEP "lock cmpxchgq %%rbx, 24(%%r8)")
EMU_CASE(lock_cmpxchg64_miss, FEP "lock cmpxchgq %%rbx, 24(%%r8)")
EMU_CASE(lock_cmpxchg8_hit, "movb 3(%%r8), %%al\n\t" FEP "lock cmpxchgb %%bl, 3(%%r8)")
EMU_CASE(cmpxchg8b_hit, "movl 32(%%r8), %%eax\n\tmovl 36(%%r8), %%edx\n\t" FEP "cmpxchg8b 32(%%r8)")
EMU_CASE(lock_cmpxchg8b_miss, FEP "lock cmpxchg8b 32(%%r8)")
EMU_CASE(cmpxchg16b_hit,
         "movq 64(%%r8), %%rax\n\tmovq 72(%%r8), %%rdx\n\t" FEP "cmpxchg16b 64(%%r8)")
EMU_CASE(lock_cmpxchg16b_miss, FEP "lock cmpxchg16b 64(%%r8)")
EMU_CASE(lock_cmpxchg16b_hit,
         "movq 64(%%r8), %%rax\n\tmovq 72(%%r8), %%rdx\n\t" FEP "lock cmpxchg16b 64(%%r8)")
EMU_CASE(xadd16, FEP "xaddw %%bx, 10(%%r8)")
EMU_CASE(xadd64, FEP "xaddq %%rbx, 40(%%r8)")
EMU_CASE(lock_xadd32, FEP "lock xaddl %%ebx, 44(%%r8)")

const Case kAtomicCases[] = {
    {"XCHG m8, r8", BODIES(xchg8),
     [](const Outcome& o) {
       return o.g.rbx == ((kGprs.rbx & ~0xffull) | area_le(5, 1)) &&
              area_only(o, 5, kGprs.rbx & 0xff, 1);
     },
     "swapped"},
    {"XCHG m32, r32", BODIES(xchg32),
     [](const Outcome& o) {
       return o.g.rbx == area_le(12, 4) && area_only(o, 12, kGprs.rbx & 0xffffffff, 4);
     },
     "swapped, RBX zero-extended"},
    {"XCHG m64, r64", BODIES(xchg64),
     [](const Outcome& o) { return o.g.rbx == area_le(24) && area_only(o, 24, kGprs.rbx, 8); },
     "swapped"},
    {"CMPXCHG m32, equal", BODIES(cmpxchg32_hit),
     [](const Outcome& o) {
       return (o.flags & rflags::kZero) && area_only(o, 12, kGprs.rbx & 0xffffffff, 4);
     },
     "ZF=1, the source stored"},
    {"CMPXCHG m32, not equal", BODIES(cmpxchg32_miss),
     [](const Outcome& o) {
       return !(o.flags & rflags::kZero) && o.g.rax == area_le(12, 4) && area_untouched(o);
     },
     "ZF=0, EAX loaded, memory kept"},
    {"LOCK CMPXCHG m64, equal", BODIES(lock_cmpxchg64_hit),
     [](const Outcome& o) { return (o.flags & rflags::kZero) && area_only(o, 24, kGprs.rbx, 8); },
     "ZF=1, the source stored"},
    {"LOCK CMPXCHG m64, not equal", BODIES(lock_cmpxchg64_miss),
     [](const Outcome& o) {
       return !(o.flags & rflags::kZero) && o.g.rax == area_le(24) && area_untouched(o);
     },
     "ZF=0, RAX loaded"},
    {"LOCK CMPXCHG m8, equal", BODIES(lock_cmpxchg8_hit),
     [](const Outcome& o) {
       return (o.flags & rflags::kZero) && area_only(o, 3, kGprs.rbx & 0xff, 1);
     },
     "ZF=1, BL stored"},
    {"CMPXCHG8B, equal", BODIES(cmpxchg8b_hit),
     [](const Outcome& o) {
       return (o.flags & rflags::kZero) &&
              area_only(o, 32, (kGprs.rcx << 32) | (kGprs.rbx & 0xffffffff), 8);
     },
     "ZF=1, ECX:EBX stored", rflags::kFixed1, &cpu::feature::kCx8},
    {"LOCK CMPXCHG8B, not equal", BODIES(lock_cmpxchg8b_miss),
     [](const Outcome& o) {
       return !(o.flags & rflags::kZero) && o.g.rax == area_le(32, 4) &&
              o.g.rdx == area_le(36, 4) && area_untouched(o);
     },
     "ZF=0, EDX:EAX loaded", rflags::kFixed1, &cpu::feature::kCx8},
    {"CMPXCHG16B, equal", BODIES(cmpxchg16b_hit),
     [](const Outcome& o) {
       return (o.flags & rflags::kZero) && out_le(o.area + 64) == kGprs.rbx &&
              out_le(o.area + 72) == kGprs.rcx && area_same_except(o, 64, 16);
     },
     "ZF=1, RCX:RBX stored", rflags::kFixed1, &cpu::feature::kCx16},
    {"LOCK CMPXCHG16B, not equal", BODIES(lock_cmpxchg16b_miss),
     [](const Outcome& o) {
       return !(o.flags & rflags::kZero) && o.g.rax == area_le(64) && o.g.rdx == area_le(72) &&
              area_untouched(o);
     },
     "ZF=0, RDX:RAX loaded", rflags::kFixed1, &cpu::feature::kCx16},
    {"LOCK CMPXCHG16B, equal", BODIES(lock_cmpxchg16b_hit),
     [](const Outcome& o) {
       return (o.flags & rflags::kZero) && out_le(o.area + 64) == kGprs.rbx &&
              out_le(o.area + 72) == kGprs.rcx;
     },
     "ZF=1, RCX:RBX stored", rflags::kFixed1, &cpu::feature::kCx16},
    {"XADD m16, r16", BODIES(xadd16),
     [](const Outcome& o) {
       return o.g.rbx == ((kGprs.rbx & ~0xffffull) | area_le(10, 2)) &&
              area_only(o, 10, (area_le(10, 2) + kGprs.rbx) & 0xffff, 2);
     },
     "sum stored, old value in BX"},
    {"XADD m64, r64", BODIES(xadd64),
     [](const Outcome& o) {
       return o.g.rbx == area_le(40) && area_only(o, 40, area_le(40) + kGprs.rbx, 8);
     },
     "sum stored, old value in RBX"},
    {"LOCK XADD m32, r32", BODIES(lock_xadd32),
     [](const Outcome& o) {
       return o.g.rbx == area_le(44, 4) &&
              area_only(o, 44, (area_le(44, 4) + kGprs.rbx) & 0xffffffff, 4);
     },
     "sum stored, old value in EBX"},
};

// ---- ALU with a memory destination ----
EMU_CASE(add_m32, FEP "addl %%ebx, 12(%%r8)")
EMU_CASE(adc_m64, FEP "adcq %%rbx, 16(%%r8)")
EMU_CASE(sub_m8, FEP "subb $0x40, 7(%%r8)")
EMU_CASE(sbb_m16, FEP "sbbw %%bx, 10(%%r8)")
EMU_CASE(and_m64, FEP "andq %%rbx, 24(%%r8)")
EMU_CASE(or_m32_imm, FEP "orl $0x80000001, 28(%%r8)")
EMU_CASE(xor_m8, FEP "xorb %%bl, 33(%%r8)")
EMU_CASE(cmp_m64, FEP "cmpq %%rbx, 40(%%r8)")
EMU_CASE(test_m32, FEP "testl $0x80808080, 44(%%r8)")
EMU_CASE(inc_m16, FEP "incw 50(%%r8)")
EMU_CASE(dec_m64, FEP "decq 56(%%r8)")
EMU_CASE(neg_m32, FEP "negl 60(%%r8)")
EMU_CASE(not_m8, FEP "notb 63(%%r8)")
EMU_CASE(shl_m32_imm, FEP "shll $5, 64(%%r8)")
EMU_CASE(sar_m64_cl, "mov $13, %%ecx\n\t" FEP "sarq %%cl, 72(%%r8)")
EMU_CASE(rol_m16, FEP "rolw $3, 82(%%r8)")
EMU_CASE(rcr_m8, FEP "rcrb $1, 85(%%r8)")
EMU_CASE(lock_add_m64, FEP "lock addq %%rbx, 88(%%r8)")
EMU_CASE(lock_or_m8, FEP "lock orb $0x81, 97(%%r8)")
EMU_CASE(lock_and_m32, FEP "lock andl %%ebx, 100(%%r8)")
EMU_CASE(lock_xor_m16, FEP "lock xorw $0x5a5a, 104(%%r8)")
EMU_CASE(lock_inc_m32, FEP "lock incl 108(%%r8)")
EMU_CASE(lock_neg_m64, FEP "lock negq 112(%%r8)")
EMU_CASE(add_r_m, FEP "addq 120(%%r8), %%rbx")
EMU_CASE(imul_r_m, FEP "imulq 128(%%r8), %%rbx")
EMU_CASE(mul_m32, FEP "mull 136(%%r8)")
EMU_CASE(div_m32, "xor %%edx, %%edx\n\tmov $0x7fffffff, %%eax\n\t" FEP "divl 140(%%r8)")
EMU_CASE(div_zero, "movl $0, 144(%%r8)\n\t" FEP "divl 144(%%r8)")

const Case kAluCases[] = {
    {"ADD m32, r32", BODIES(add_m32),
     [](const Outcome& o) { return area_only(o, 12, (area_le(12, 4) + kGprs.rbx) & 0xffffffff, 4); },
     "sum stored"},
    {"ADC m64, r64, CF=1", BODIES(adc_m64),
     [](const Outcome& o) { return area_only(o, 16, area_le(16) + kGprs.rbx + 1, 8); },
     "sum plus carry stored", kFlagsCf},
    {"SUB m8, imm8", BODIES(sub_m8),
     [](const Outcome& o) { return area_only(o, 7, (area_le(7, 1) - 0x40) & 0xff, 1); },
     "difference stored"},
    {"SBB m16, r16, CF=1", BODIES(sbb_m16),
     [](const Outcome& o) {
       return area_only(o, 10, (area_le(10, 2) - kGprs.rbx - 1) & 0xffff, 2);
     },
     "difference minus borrow stored", kFlagsCf},
    {"AND m64, r64", BODIES(and_m64),
     [](const Outcome& o) { return area_only(o, 24, area_le(24) & kGprs.rbx, 8); }, "stored"},
    {"OR m32, imm32", BODIES(or_m32_imm),
     [](const Outcome& o) { return area_only(o, 28, area_le(28, 4) | 0x80000001, 4) && (o.flags & rflags::kSign); },
     "stored, SF=1"},
    {"XOR m8, r8", BODIES(xor_m8),
     [](const Outcome& o) { return area_only(o, 33, area_le(33, 1) ^ (kGprs.rbx & 0xff), 1); },
     "stored"},
    {"CMP m64, r64", BODIES(cmp_m64),
     [](const Outcome& o) {
       return area_untouched(o) && bool(o.flags & rflags::kCarry) == (area_le(40) < kGprs.rbx);
     },
     "memory kept, CF is the unsigned borrow"},
    {"TEST m32, imm32", BODIES(test_m32),
     [](const Outcome& o) {
       return area_untouched(o) && bool(o.flags & rflags::kZero) == !(area_le(44, 4) & 0x80808080);
     },
     "memory kept, ZF from the AND"},
    {"INC m16, CF kept", BODIES(inc_m16),
     [](const Outcome& o) {
       return area_only(o, 50, (area_le(50, 2) + 1) & 0xffff, 2) && (o.flags & rflags::kCarry);
     },
     "incremented, CF=1 kept", kFlagsCf},
    {"DEC m64", BODIES(dec_m64),
     [](const Outcome& o) { return area_only(o, 56, area_le(56) - 1, 8); }, "decremented"},
    {"NEG m32", BODIES(neg_m32),
     [](const Outcome& o) {
       return area_only(o, 60, (0 - area_le(60, 4)) & 0xffffffff, 4) && (o.flags & rflags::kCarry);
     },
     "negated, CF=1"},
    {"NOT m8, flags kept", BODIES(not_m8),
     [](const Outcome& o) {
       return area_only(o, 63, ~area_le(63, 1) & 0xff, 1) && o.flags == (kFlagsCf & kArithFlags);
     },
     "complemented, flags kept", kFlagsCf},
    {"SHL m32, 5", BODIES(shl_m32_imm),
     [](const Outcome& o) { return area_only(o, 64, (area_le(64, 4) << 5) & 0xffffffff, 4); },
     "shifted"},
    {"SAR m64, CL=13", BODIES(sar_m64_cl),
     [](const Outcome& o) { return area_only(o, 72, uint64_t(int64_t(area_le(72)) >> 13), 8); },
     "shifted arithmetically"},
    {"ROL m16, 3", BODIES(rol_m16),
     [](const Outcome& o) {
       const uint64_t v = area_le(82, 2);
       return area_only(o, 82, ((v << 3) | (v >> 13)) & 0xffff, 2);
     },
     "rotated"},
    {"RCR m8, 1, CF=1", BODIES(rcr_m8),
     [](const Outcome& o) {
       const uint64_t v = area_le(85, 1);
       return area_only(o, 85, (v >> 1) | 0x80, 1) && bool(o.flags & rflags::kCarry) == (v & 1);
     },
     "rotated through carry", kFlagsCf},
    {"LOCK ADD m64, r64", BODIES(lock_add_m64),
     [](const Outcome& o) { return area_only(o, 88, area_le(88) + kGprs.rbx, 8); }, "sum stored"},
    {"LOCK OR m8, imm8", BODIES(lock_or_m8),
     [](const Outcome& o) { return area_only(o, 97, area_le(97, 1) | 0x81, 1); }, "stored"},
    {"LOCK AND m32, r32", BODIES(lock_and_m32),
     [](const Outcome& o) { return area_only(o, 100, area_le(100, 4) & kGprs.rbx & 0xffffffff, 4); },
     "stored"},
    {"LOCK XOR m16, imm16", BODIES(lock_xor_m16),
     [](const Outcome& o) { return area_only(o, 104, area_le(104, 2) ^ 0x5a5a, 2); }, "stored"},
    {"LOCK INC m32", BODIES(lock_inc_m32),
     [](const Outcome& o) { return area_only(o, 108, (area_le(108, 4) + 1) & 0xffffffff, 4); },
     "incremented"},
    {"LOCK NEG m64", BODIES(lock_neg_m64),
     [](const Outcome& o) { return area_only(o, 112, 0 - area_le(112), 8); }, "negated"},
    {"ADD r64, m64", BODIES(add_r_m),
     [](const Outcome& o) { return o.g.rbx == kGprs.rbx + area_le(120) && area_untouched(o); },
     "sum in RBX"},
    {"IMUL r64, m64", BODIES(imul_r_m),
     [](const Outcome& o) { return o.g.rbx == kGprs.rbx * area_le(128); }, "low product in RBX"},
    {"MUL m32", BODIES(mul_m32),
     [](const Outcome& o) {
       const uint64_t p = (kJunk & 0xffffffff) * area_le(136, 4);
       return o.g.rax == (p & 0xffffffff) && o.g.rdx == (p >> 32);
     },
     "EDX:EAX product"},
    {"DIV m32", BODIES(div_m32),
     [](const Outcome& o) {
       const uint64_t d = area_le(140, 4);
       return o.g.rax == 0x7fffffffull / d && o.g.rdx == 0x7fffffffull % d;
     },
     "quotient and remainder"},
    {"DIV m32 by zero", BODIES(div_zero),
     [](const Outcome& o) { return o.ex == ExInfo(Vec::DE); }, "#DE"},
};

// ---- BT family with a register bit offset ----
// The base is area+512, so offsets of either sign stay in the area.
EMU_CASE(bt64_far, "mov $1000, %%rbx\n\t" FEP "btq %%rbx, 512(%%r8)")
EMU_CASE(bts64_neg, "mov $-100, %%rbx\n\t" FEP "btsq %%rbx, 512(%%r8)")
EMU_CASE(btr32_far, "mov $333, %%ebx\n\t" FEP "btrl %%ebx, 512(%%r8)")
EMU_CASE(btc16_neg, "mov $-1999, %%bx\n\t" FEP "btcw %%bx, 512(%%r8)")
EMU_CASE(bt32_in, "mov $13, %%ebx\n\t" FEP "btl %%ebx, 512(%%r8)")
EMU_CASE(lock_bts64_far, "mov $2047, %%rbx\n\t" FEP "lock btsq %%rbx, 512(%%r8)")
EMU_CASE(lock_btr16_far, "mov $777, %%bx\n\t" FEP "lock btrw %%bx, 512(%%r8)")
EMU_CASE(lock_btc32_neg, "mov $-4000, %%ebx\n\t" FEP "lock btcl %%ebx, 512(%%r8)")
EMU_CASE(bts64_imm, FEP "btsq $63, 520(%%r8)")

enum class BitOp { test, set, reset, complement };
bool bit_result(const Outcome& o, int64_t bitpos, BitOp op) {
  const int64_t byte = 512 + (bitpos >> 3);  // arithmetic shift: floor
  const unsigned bit = unsigned(bitpos & 7);
  const uint8_t old = area_byte(unsigned(byte));
  uint8_t want = old;
  if (op == BitOp::set) want |= uint8_t(1u << bit);
  if (op == BitOp::reset) want &= uint8_t(~(1u << bit));
  if (op == BitOp::complement) want ^= uint8_t(1u << bit);
  return bool(o.flags & rflags::kCarry) == bool((old >> bit) & 1) && o.area[byte] == want &&
         area_same_except(o, unsigned(byte), 1);
}

const Case kBtCases[] = {
    {"BT m64, r64 = 1000", BODIES(bt64_far),
     [](const Outcome& o) { return bit_result(o, 1000, BitOp::test); },
     "CF = bit 1000 of the bit string"},
    {"BTS m64, r64 = -100", BODIES(bts64_neg),
     [](const Outcome& o) { return bit_result(o, -100, BitOp::set); },
     "bit -100 set, CF its old value"},
    {"BTR m32, r32 = 333", BODIES(btr32_far),
     [](const Outcome& o) { return bit_result(o, 333, BitOp::reset); }, "bit 333 cleared"},
    {"BTC m16, r16 = -1999", BODIES(btc16_neg),
     [](const Outcome& o) { return bit_result(o, -1999, BitOp::complement); },
     "bit -1999 complemented"},
    {"BT m32, r32 = 13", BODIES(bt32_in),
     [](const Outcome& o) { return bit_result(o, 13, BitOp::test); }, "CF = bit 13"},
    {"LOCK BTS m64, r64 = 2047", BODIES(lock_bts64_far),
     [](const Outcome& o) { return bit_result(o, 2047, BitOp::set); }, "bit 2047 set"},
    {"LOCK BTR m16, r16 = 777", BODIES(lock_btr16_far),
     [](const Outcome& o) { return bit_result(o, 777, BitOp::reset); }, "bit 777 cleared"},
    {"LOCK BTC m32, r32 = -4000", BODIES(lock_btc32_neg),
     [](const Outcome& o) { return bit_result(o, -4000, BitOp::complement); },
     "bit -4000 complemented"},
    {"BTS m64, imm8 = 63", BODIES(bts64_imm),
     [](const Outcome& o) { return bit_result(o, 64 + 63, BitOp::set); },
     "bit 63 of the quadword set"},
};

// ---- stack, CALL and JMP through memory ----
// With the stack moved into the area: RSP is kept in %r10 meanwhile.
#define STACK_IN_AREA "mov %%rsp, %%r10\n\tlea 512(%%r8), %%rsp\n\t"
#define STACK_BACK "mov %%r10, %%rsp\n\t"
EMU_CASE(push_m64, FEP "pushq 8(%%r8)\n\tpopq %%rax")
EMU_CASE(push_m16, FEP "pushw 8(%%r8)\n\tpopw %%ax")
EMU_CASE(pop_m64, "pushq %%rbx\n\t" FEP "popq 16(%%r8)")
EMU_CASE(push_pop_stack_in_area,
         STACK_IN_AREA "pushq %%rbx\n\t" FEP "pushq 8(%%r8)\n\tpopq %%rax\n\tpopq %%rcx\n\t" STACK_BACK)
EMU_CASE(call_m64,
         "lea 1f(%%rip), %%rax\n\tmovq %%rax, 24(%%r8)\n\txor %%ebx, %%ebx\n\t" FEP
         "call *24(%%r8)\n\tjmp 2f\n1:\n\tmovq (%%rsp), %%rbx\n\tret\n2:\n\tsub %%rax, %%rbx")
EMU_CASE(jmp_m64,
         "lea 1f(%%rip), %%rax\n\tmovq %%rax, 24(%%r8)\n\tmov $1, %%ebx\n\t" FEP
         "jmp *24(%%r8)\n\tmov $2, %%ebx\n1:\n\tsub %%rax, %%rax")
EMU_CASE(call_stack_in_area,
         STACK_IN_AREA FEP "call 1f\n1:\n\tpopq %%rax\n\t" STACK_BACK
         "lea 1b(%%rip), %%rbx\n\tsub %%rbx, %%rax\n\tmovq 504(%%r8), %%rcx\n\tsub %%rbx, %%rcx")
EMU_CASE(ret_stack_in_area,
         "lea 1f(%%rip), %%rax\n\t" STACK_IN_AREA "pushq %%rax\n\tmov $1, %%ebx\n\t" FEP
         "ret\n\tmov $2, %%ebx\n1:\n\t" STACK_BACK "sub %%rax, %%rax\n\tmovq 504(%%r8), %%rcx\n\t"
         "lea 1b(%%rip), %%rdx\n\tsub %%rdx, %%rcx")
EMU_CASE(lret_stack_in_area,
         STACK_IN_AREA "mov %%cs, %%eax\n\tpushq %%rax\n\tlea 1f(%%rip), %%rax\n\tpushq %%rax\n\t"
         "mov $1, %%ebx\n\t" FEP "lretq\n\tmov $2, %%ebx\n1:\n\t" STACK_BACK
         "mov %%cs, %%ecx\n\txor %%eax, %%eax\n\tmovq $0, 496(%%r8)")
EMU_CASE(iretq_stack_in_area,
         STACK_IN_AREA "mov %%ss, %%eax\n\tpushq %%rax\n\tpushq %%r10\n\tpushfq\n\t"
         "mov %%cs, %%eax\n\tpushq %%rax\n\tlea 1f(%%rip), %%rax\n\tpushq %%rax\n\t"
         "mov $1, %%ebx\n\t" FEP "iretq\n\tmov $2, %%ebx\n1:\n\t"
         "mov %%cs, %%ecx\n\tmov %%rsp, %%rdx\n\tsub %%r10, %%rdx\n\txor %%eax, %%eax\n\t"
         "movq $0, 472(%%r8)\n\tmovq $0, 488(%%r8)")
EMU_CASE(ljmp_m32,
         "lea 1f(%%rip), %%rax\n\tmovl %%eax, 32(%%r8)\n\tmovw %%cs, 36(%%r8)\n\tmov $1, %%ebx\n\t"
         FEP "ljmpl *32(%%r8)\n\tmov $2, %%ebx\n1:\n\tmov %%cs, %%ecx\n\txor %%eax, %%eax\n\t"
         "movl $0, 32(%%r8)")

const Case kStackCases[] = {
    {"PUSH m64", BODIES(push_m64),
     [](const Outcome& o) { return o.g.rax == area_le(8) && area_untouched(o); },
     "the quadword pushed"},
    {"PUSH m16", BODIES(push_m16),
     [](const Outcome& o) { return o.g.rax == ((kJunk & ~0xffffull) | area_le(8, 2)); },
     "the word pushed"},
    {"POP m64", BODIES(pop_m64),
     [](const Outcome& o) { return area_only(o, 16, kGprs.rbx, 8); }, "RBX popped into memory"},
    {"PUSH and POP, stack in the area", BODIES(push_pop_stack_in_area),
     [](const Outcome& o) {
       return o.g.rax == area_le(8) && o.g.rcx == kGprs.rbx && out_le(o.area + 504) == kGprs.rbx &&
              out_le(o.area + 496) == area_le(8) && area_same_except(o, 496, 16);
     },
     "both pushed into the area"},
    {"CALL m64", BODIES(call_m64),
     [](const Outcome& o) { return int64_t(o.g.rbx) == -2; },
     "returns to the next instruction (a 2-byte JMP before the target)"},
    {"JMP m64", BODIES(jmp_m64), [](const Outcome& o) { return o.g.rbx == 1; },
     "jumps to the stored target"},
    {"CALL, stack in the area", BODIES(call_stack_in_area),
     [](const Outcome& o) { return o.g.rax == 0 && o.g.rcx == 0; },
     "the return address stored in the area"},
    {"RET, stack in the area", BODIES(ret_stack_in_area),
     [](const Outcome& o) { return o.g.rbx == 1 && o.g.rcx == 0; },
     "returns to the address read from the area"},
    {"LRET, stack in the area", BODIES(lret_stack_in_area),
     [](const Outcome& o) { return o.g.rbx == 1 && o.g.rcx == desc::kKernelCs; },
     "returns to CS:RIP read from the area"},
    {"IRETQ, stack in the area", BODIES(iretq_stack_in_area),
     [](const Outcome& o) { return o.g.rbx == 1 && o.g.rcx == desc::kKernelCs && o.g.rdx == 0; },
     "returns to CS:RIP and RSP read from the area"},
    {"JMP m16:32", BODIES(ljmp_m32),
     [](const Outcome& o) { return o.g.rbx == 1 && o.g.rcx == desc::kKernelCs; },
     "far jump to the pointer in memory", rflags::kFixed1, nullptr, false, true},
};

// ---- MOVBE, SHLD, SHRD ----
EMU_CASE(movbe16_load, FEP "movbew 6(%%r8), %%ax")
EMU_CASE(movbe32_load, FEP "movbel 12(%%r8), %%eax")
EMU_CASE(movbe64_load, FEP "movbeq 17(%%r8), %%rax")
EMU_CASE(movbe32_store, FEP "movbel %%ebx, 21(%%r8)")
EMU_CASE(movbe64_store, FEP "movbeq %%rbx, 40(%%r8)")
EMU_CASE(shld32_imm, FEP "shldl $7, %%ebx, 12(%%r8)")
EMU_CASE(shld64_cl, "mov $20, %%ecx\n\t" FEP "shldq %%cl, %%rbx, 24(%%r8)")
EMU_CASE(shld16_imm, FEP "shldw $3, %%bx, 34(%%r8)")
EMU_CASE(shrd32_cl, "mov $9, %%ecx\n\t" FEP "shrdl %%cl, %%ebx, 44(%%r8)")
EMU_CASE(shrd64_imm, FEP "shrdq $40, %%rbx, 48(%%r8)")
EMU_CASE(shrd16_cl0, "mov $0, %%ecx\n\t" FEP "shrdw %%cl, %%bx, 58(%%r8)")

constexpr uint64_t bswap(uint64_t v, unsigned n) {
  uint64_t r = 0;
  for (unsigned i = 0; i < n; ++i) r |= ((v >> (8 * i)) & 0xff) << (8 * (n - 1 - i));
  return r;
}

const Case kShiftCases[] = {
    {"MOVBE r16, m16", BODIES(movbe16_load),
     [](const Outcome& o) { return o.g.rax == ((kJunk & ~0xffffull) | bswap(area_le(6, 2), 2)); },
     "byte-swapped", rflags::kFixed1, &cpu::feature::kMovbe},
    {"MOVBE r32, m32", BODIES(movbe32_load),
     [](const Outcome& o) { return o.g.rax == bswap(area_le(12, 4), 4); }, "byte-swapped",
     rflags::kFixed1, &cpu::feature::kMovbe},
    {"MOVBE r64, m64", BODIES(movbe64_load),
     [](const Outcome& o) { return o.g.rax == bswap(area_le(17), 8); }, "byte-swapped",
     rflags::kFixed1, &cpu::feature::kMovbe},
    {"MOVBE m32, r32", BODIES(movbe32_store),
     [](const Outcome& o) { return area_only(o, 21, bswap(kGprs.rbx & 0xffffffff, 4), 4); },
     "byte-swapped", rflags::kFixed1, &cpu::feature::kMovbe},
    {"MOVBE m64, r64", BODIES(movbe64_store),
     [](const Outcome& o) { return area_only(o, 40, bswap(kGprs.rbx, 8), 8); }, "byte-swapped",
     rflags::kFixed1, &cpu::feature::kMovbe},
    {"SHLD m32, r32, 7", BODIES(shld32_imm),
     [](const Outcome& o) {
       const uint64_t v = area_le(12, 4), s = kGprs.rbx & 0xffffffff;
       return area_only(o, 12, ((v << 7) | (s >> 25)) & 0xffffffff, 4);
     },
     "shifted in from EBX"},
    {"SHLD m64, r64, CL=20", BODIES(shld64_cl),
     [](const Outcome& o) {
       return area_only(o, 24, (area_le(24) << 20) | (kGprs.rbx >> 44), 8);
     },
     "shifted in from RBX"},
    {"SHLD m16, r16, 3", BODIES(shld16_imm),
     [](const Outcome& o) {
       const uint64_t v = area_le(34, 2), s = kGprs.rbx & 0xffff;
       return area_only(o, 34, ((v << 3) | (s >> 13)) & 0xffff, 2);
     },
     "shifted in from BX"},
    {"SHRD m32, r32, CL=9", BODIES(shrd32_cl),
     [](const Outcome& o) {
       const uint64_t v = area_le(44, 4), s = kGprs.rbx & 0xffffffff;
       return area_only(o, 44, ((v >> 9) | (s << 23)) & 0xffffffff, 4);
     },
     "shifted in from EBX"},
    {"SHRD m64, r64, 40", BODIES(shrd64_imm),
     [](const Outcome& o) {
       return area_only(o, 48, (area_le(48) >> 40) | (kGprs.rbx << 24), 8);
     },
     "shifted in from RBX"},
    {"SHRD m16, r16, CL=0", BODIES(shrd16_cl0),
     [](const Outcome& o) { return area_untouched(o) && o.flags == (kFlagsCf & kArithFlags); },
     "a count of 0 changes nothing, flags kept", kFlagsCf},
};

// ---- SSE and AVX loads and stores ----
// Registers go to and from the RAM scratch area; XMM state is not the
// compiler's (-mgeneral-regs-only).
EMU_CASE(movaps_load, FEP "movaps 16(%%r8), %%xmm0\n\tmovups %%xmm0, (%%r9)")
EMU_CASE(movaps_store, "movups 16(%%r9), %%xmm1\n\t" FEP "movaps %%xmm1, 32(%%r8)")
EMU_CASE(movups_load, FEP "movups 5(%%r8), %%xmm2\n\tmovups %%xmm2, 8(%%r9)")
EMU_CASE(movups_store, "movups 32(%%r9), %%xmm3\n\t" FEP "movups %%xmm3, 77(%%r8)")
EMU_CASE(movdqa_load, FEP "movdqa 48(%%r8), %%xmm4\n\tmovdqu %%xmm4, 16(%%r9)")
EMU_CASE(movdqa_store, "movdqu 0(%%r9), %%xmm5\n\t" FEP "movdqa %%xmm5, 96(%%r8)")
EMU_CASE(movq_load, FEP "movq 40(%%r8), %%xmm6\n\tmovdqu %%xmm6, 32(%%r9)")
EMU_CASE(movd_store, "movdqu 8(%%r9), %%xmm7\n\t" FEP "movd %%xmm7, 130(%%r8)")
EMU_CASE(vmovdqu_load256, FEP "vmovdqu 3(%%r8), %%ymm0\n\tvmovdqu %%ymm0, (%%r9)")
EMU_CASE(vmovdqu_store256, "vmovdqu 0(%%r9), %%ymm1\n\t" FEP "vmovdqu %%ymm1, 141(%%r8)")
EMU_CASE(vmovdqu_load128, FEP "vmovdqu 200(%%r8), %%xmm2\n\tvmovdqu %%ymm2, 16(%%r9)")

bool scratch_is_area(const Outcome& o, unsigned soff, unsigned aoff, unsigned n) {
  for (unsigned i = 0; i < n; ++i)
    if (o.scratch[soff + i] != area_byte(aoff + i)) return false;
  return area_untouched(o);
}
bool area_is_scratch(const Outcome& o, unsigned aoff, unsigned soff, unsigned n) {
  for (unsigned i = 0; i < n; ++i)
    if (o.area[aoff + i] != scratch_byte(soff + i)) return false;
  return area_same_except(o, aoff, n);
}

const Case kSseCases[] = {
    {"MOVAPS xmm, m128", BODIES(movaps_load),
     [](const Outcome& o) { return scratch_is_area(o, 0, 16, 16); }, "16 bytes loaded"},
    {"MOVAPS m128, xmm", BODIES(movaps_store),
     [](const Outcome& o) { return area_is_scratch(o, 32, 16, 16); }, "16 bytes stored"},
    {"MOVUPS xmm, m128 (unaligned)", BODIES(movups_load),
     [](const Outcome& o) { return scratch_is_area(o, 8, 5, 16); }, "16 bytes loaded"},
    {"MOVUPS m128, xmm (unaligned)", BODIES(movups_store),
     [](const Outcome& o) { return area_is_scratch(o, 77, 32, 16); }, "16 bytes stored"},
    {"MOVDQA xmm, m128", BODIES(movdqa_load),
     [](const Outcome& o) { return scratch_is_area(o, 16, 48, 16); }, "16 bytes loaded"},
    {"MOVDQA m128, xmm", BODIES(movdqa_store),
     [](const Outcome& o) { return area_is_scratch(o, 96, 0, 16); }, "16 bytes stored"},
    {"MOVQ xmm, m64", BODIES(movq_load),
     [](const Outcome& o) {
       for (unsigned i = 8; i < 16; ++i)
         if (o.scratch[32 + i]) return false;
       return scratch_is_area(o, 32, 40, 8);
     },
     "8 bytes loaded, the upper half zeroed"},
    {"MOVD m32, xmm", BODIES(movd_store),
     [](const Outcome& o) { return area_is_scratch(o, 130, 8, 4); }, "4 bytes stored"},
};

const Case kAvxCases[] = {
    {"VMOVDQU ymm, m256 (unaligned)", BODIES(vmovdqu_load256),
     [](const Outcome& o) { return scratch_is_area(o, 0, 3, 32); }, "32 bytes loaded"},
    {"VMOVDQU m256, ymm (unaligned)", BODIES(vmovdqu_store256),
     [](const Outcome& o) { return area_is_scratch(o, 141, 0, 32); }, "32 bytes stored"},
    {"VMOVDQU xmm, m128", BODIES(vmovdqu_load128),
     [](const Outcome& o) {
       for (unsigned i = 16; i < 32; ++i)
         if (o.scratch[16 + i]) return false;
       return scratch_is_area(o, 16, 200, 16);
     },
     "16 bytes loaded, YMM[255:128] zeroed (VEX.128)"},
};

// ---- FXSAVE and FXRSTOR ----
// aux (Side+80) points at a RAM image that FXRSTOR loads first, so that
// both runs save the same state.
EMU_CASE(fxsave_area, "movq 80(%%r9), %%r10\n\tfxrstor (%%r10)\n\t" FEP "fxsave 0(%%r8)")
EMU_CASE(fxrstor_area,
         "movq 80(%%r9), %%r10\n\tfxrstor (%%r10)\n\tfxsave 0(%%r8)\n\tmovq $0x0123456789abcdef, %%r11\n\t"
         "movq %%r11, 320(%%r8)\n\tpxor %%xmm10, %%xmm10\n\t" FEP "fxrstor 0(%%r8)\n\t"
         "movdqu %%xmm10, (%%r9)")
EMU_CASE(fxsave_misaligned, FEP "fxsave 8(%%r8)")

alignas(16) uint8_t fx_image[512];

const Case kFxCases[] = {
    {"FXSAVE m512", BODIES(fxsave_area),
     [](const Outcome& o) { return !o.ex && !memcmp(o.area + 160, fx_image + 160, 256); },
     "XMM0-15 stored as loaded", rflags::kFixed1, &cpu::feature::kFxsr},
    {"FXRSTOR m512", BODIES(fxrstor_area),
     [](const Outcome& o) {
       return !o.ex && out_le(o.scratch) == 0x0123456789abcdefull &&
              !memcmp(o.scratch + 8, fx_image + 160 + 16 * 10 + 8, 8);
     },
     "XMM10 loaded from the area", rflags::kFixed1, &cpu::feature::kFxsr},
    {"FXSAVE to an address not 16-byte aligned", BODIES(fxsave_misaligned),
     [](const Outcome& o) { return o.ex == ExInfo(Vec::GP, 0) && area_untouched(o); },
     "#GP(0), nothing stored", rflags::kFixed1, &cpu::feature::kFxsr},
};

// ---- LMSW, SMSW, segment and descriptor-table loads ----
EMU_CASE(smsw_m16, FEP "smsw 8(%%r8)")
EMU_CASE(lmsw_same, "smsw %%ax\n\tmovw %%ax, 8(%%r8)\n\t" FEP "lmsw 8(%%r8)\n\tsmsw %%bx")
EMU_CASE(lmsw_no_pe_clear,
         "smsw %%ax\n\tmovw %%ax, %%dx\n\tandw $0xfffe, %%ax\n\tmovw %%ax, 8(%%r8)\n\t" FEP
         "lmsw 8(%%r8)\n\tsmsw %%bx\n\tmovw %%dx, 8(%%r8)\n\tlmsw 8(%%r8)")
EMU_CASE(lmsw_ts,
         "smsw %%ax\n\torw $8, %%ax\n\tmovw %%ax, 8(%%r8)\n\t" FEP "lmsw 8(%%r8)\n\tsmsw %%bx\n\tclts")
EMU_CASE(mov_ds_m16,
         "mov %%ds, %%eax\n\tmovw %%ax, 8(%%r8)\n\t" FEP "movw 8(%%r8), %%ds\n\tmov %%ds, %%ebx")
EMU_CASE(mov_ss_m16,
         "mov %%ss, %%eax\n\tmovw %%ax, 8(%%r8)\n\t" FEP "movw 8(%%r8), %%ss\n\tmov %%ss, %%ebx")
EMU_CASE(mov_es_m16,
         "mov %%es, %%r10d\n\tmov %%ds, %%eax\n\tmovw %%ax, 8(%%r8)\n\t" FEP "movw 8(%%r8), %%es\n\tmov %%es, %%ebx\n\t"
         "mov %%r10d, %%es")
EMU_CASE(mov_m16_ds, FEP "movw %%ds, 8(%%r8)")
EMU_CASE(mov_es_m16_null_gp,
         "movw $0x7ff8, 8(%%r8)\n\tmov %%es, %%r10d\n\t" FEP "movw 8(%%r8), %%es\n\tmov %%r10d, %%es")
EMU_CASE(lgdt_m, "sgdt 8(%%r8)\n\t" FEP "lgdt 8(%%r8)\n\tsgdt 32(%%r8)\n\t"
                 "movq 10(%%r8), %%rax\n\tmovq 34(%%r8), %%rbx\n\tsub %%rax, %%rbx\n\t"
                 "movzwl 8(%%r8), %%eax\n\tmovzwl 32(%%r8), %%ecx\n\tsub %%eax, %%ecx\n\t"
                 "movq $0, 10(%%r8)\n\tmovq $0, 34(%%r8)")
EMU_CASE(lidt_m, "sidt 8(%%r8)\n\t" FEP "lidt 8(%%r8)\n\tsidt 32(%%r8)\n\t"
                 "movq 10(%%r8), %%rax\n\tmovq 34(%%r8), %%rbx\n\tsub %%rax, %%rbx\n\t"
                 "movzwl 8(%%r8), %%eax\n\tmovzwl 32(%%r8), %%ecx\n\tsub %%eax, %%ecx\n\t"
                 "movq $0, 10(%%r8)\n\tmovq $0, 34(%%r8)")
EMU_CASE(str_m16, FEP "str 8(%%r8)")

const Case kSystemCases[] = {
    {"SMSW m16", BODIES(smsw_m16),
     [](const Outcome& o) { return area_only(o, 8, cpu::read_cr0() & 0xffff, 2); },
     "CR0[15:0] stored"},
    {"LMSW m16, same value", BODIES(lmsw_same),
     [](const Outcome& o) { return (o.g.rbx & 0xffff) == (o.g.rax & 0xffff); },
     "CR0[15:0] unchanged"},
    {"LMSW m16 with PE clear", BODIES(lmsw_no_pe_clear),
     [](const Outcome& o) { return (o.g.rbx & cpu::cr0::PE) != 0; }, "CR0.PE stays set"},
    {"LMSW m16 setting TS", BODIES(lmsw_ts),
     [](const Outcome& o) { return (o.g.rbx & cpu::cr0::TS) != 0; }, "CR0.TS set"},
    {"MOV DS, m16", BODIES(mov_ds_m16),
     [](const Outcome& o) { return (o.g.rbx & 0xffff) == (o.g.rax & 0xffff); }, "DS reloaded"},
    {"MOV SS, m16", BODIES(mov_ss_m16),
     [](const Outcome& o) { return (o.g.rbx & 0xffff) == (o.g.rax & 0xffff); }, "SS reloaded"},
    {"MOV ES, m16", BODIES(mov_es_m16),
     [](const Outcome& o) { return (o.g.rbx & 0xffff) == desc::kKernelDs; },
     "ES loaded with our data selector"},
    {"MOV m16, DS", BODIES(mov_m16_ds),
     [](const Outcome& o) { return area_only(o, 8, desc::kKernelDs, 2); }, "DS stored"},
    {"MOV ES, m16 beyond the GDT", BODIES(mov_es_m16_null_gp),
     [](const Outcome& o) { return o.ex == ExInfo(Vec::GP, 0x7ff8); },
     "#GP(selector) (SDM vol.2B MOV, \"segment selector index is not within the descriptor "
     "table limits\")"},
    {"LGDT m80", BODIES(lgdt_m),
     [](const Outcome& o) { return o.g.rbx == 0 && (o.g.rcx & 0xffffffff) == 0; },
     "the GDTR read back from the area reloaded unchanged"},
    {"LIDT m80", BODIES(lidt_m),
     [](const Outcome& o) { return o.g.rbx == 0 && (o.g.rcx & 0xffffffff) == 0; },
     "the IDTR read back from the area reloaded unchanged"},
    {"STR m16", BODIES(str_m16),
     [](const Outcome& o) { return area_only(o, 8, desc::tss_selector(0), 2); },
     "our TSS selector stored"},
};

// ---- far pointers: LFS, LGS, LSS, far JMP and CALL through memory ----
// A far pointer in memory is an offset followed by a selector (SDM vol.1
// §4.3.1): m16:32 by default in 64-bit mode; with REX.W, Intel 64 reads
// an m16:64 pointer for LFS/LGS/LSS (SDM vol.2A "LDS/LES/LFS/LGS/LSS")
// and for far JMP/CALL (vol.2A "JMP", "CALL"), while AMD64 ignores REX.W
// there and reads m16:32 (APM vol.3 "LFS", "JMP (Far)", "CALL (Far)"; the
// two lists of far-pointer forms differ in exactly these). The REX.W
// cases lay the pointer out so that both readings are defined: the
// m16:32 reading takes its selector from bytes 4-5 of the 64-bit offset.
// GNU as refuses the REX.W forms, so they are spelled as bytes.
#define LFS_RAX_8_R8 ".byte 0x49, 0x0f, 0xb4, 0x40, 0x08"   // lfs 8(%r8), %rax
#define LGS_RAX_8_R8 ".byte 0x49, 0x0f, 0xb5, 0x40, 0x08"   // lgs 8(%r8), %rax
#define LSS_RAX_8_R8 ".byte 0x49, 0x0f, 0xb2, 0x40, 0x08"   // lss 8(%r8), %rax
#define LJMPQ_40_R8 ".byte 0x49, 0xff, 0x68, 0x28"           // REX.W ljmp *40(%r8)
#define LCALLQ_40_R8 ".byte 0x49, 0xff, 0x58, 0x28"          // REX.W lcall *40(%r8)
constexpr uint32_t kFarOff = 0x89abcdef;
// After an LGS: IA32_GS_BASE back from side->gs_base at once, before any
// code reaches the per-CPU block through it (catch_fault does on return).
#define GS_BASE_BACK                                                              \
  "\n\tpush %%rcx\n\tpush %%rax\n\tpush %%rdx\n\tmov $0xc0000101, %%ecx\n\t" \
  "mov 88(%%r9), %%eax\n\tmov 92(%%r9), %%edx\n\twrmsr\n\tpop %%rdx\n\tpop %%rax\n\t"  \
  "pop %%rcx"
static_assert(cpu::kMsrGsBase == 0xc0000101);
// The not-present data descriptor of the fault cases (spare slot 0).
constexpr uint16_t kNotPresentSel = desc::kTestSlotBase;

// Shared targets of the far branches, so that the pointer stored in the
// area is the same for every instantiation of a case: the jump target
// reads CS into ECX and returns through %r11; the call target also
// reads the pushed return RIP into RBX and the pushed CS into RDX.
asm(".pushsection .text\n"
    ".balign 16\n"
    "emu_far_landing:\n\t"
    "mov %cs, %ecx\n\t"
    "jmp *%r11\n"
    ".balign 16\n"
    "emu_far_callee:\n\t"
    "mov %cs, %ecx\n\t"
    "movq (%rsp), %rbx\n\t"
    "movzwl 8(%rsp), %edx\n\t"
    "lretq\n"
    ".popsection");

EMU_CASE(lfs_m32, "movl $0x89abcdef, 8(%%r8)\n\tmovw $0x23, 12(%%r8)\n\t" FEP
                  "lfs 8(%%r8), %%eax\n\tmov %%fs, %%ebx")
EMU_CASE(lgs_m32, "movl $0x89abcdef, 8(%%r8)\n\tmovw $0x10, 12(%%r8)\n\t" FEP
                  "lgs 8(%%r8), %%eax\n\tmov %%gs, %%ebx" GS_BASE_BACK)
EMU_CASE(lss_m32, "mov %%ss, %%edx\n\tmovl $0x89abcdef, 8(%%r8)\n\tmovw %%dx, 12(%%r8)\n\t" FEP
                  "lss 8(%%r8), %%eax\n\tmov %%ss, %%ebx")
// Offset 0x10_89abcdef, selector 0x23: the m16:32 reading gets offset
// 0x89abcdef and selector 0x10.
EMU_CASE(lfs_m64, "movl $0x89abcdef, 8(%%r8)\n\tmovl $0x10, 12(%%r8)\n\tmovw $0x23, 16(%%r8)\n\t"
                  FEP LFS_RAX_8_R8 "\n\tmov %%fs, %%ebx")
EMU_CASE(lgs_m64, "movl $0x89abcdef, 8(%%r8)\n\tmovl $0x10, 12(%%r8)\n\tmovw $0x23, 16(%%r8)\n\t"
                  FEP LGS_RAX_8_R8 "\n\tmov %%gs, %%ebx" GS_BASE_BACK)
// SS takes only a selector whose RPL and DPL are the CPL: ours both ways.
EMU_CASE(lss_m64, "mov %%ss, %%edx\n\tmovl $0x89abcdef, 8(%%r8)\n\tmovzwl %%dx, %%ecx\n\t"
                  "movl %%ecx, 12(%%r8)\n\tmovw %%dx, 16(%%r8)\n\t" FEP LSS_RAX_8_R8
                  "\n\tmov %%ss, %%ebx")
EMU_CASE(lfs_not_present, "movl $0, 8(%%r8)\n\tmovw $0x30, 12(%%r8)\n\t" FEP "lfs 8(%%r8), %%eax")
EMU_CASE(lss_not_present, "movl $0, 8(%%r8)\n\tmovw $0x30, 12(%%r8)\n\t" FEP "lss 8(%%r8), %%eax")
EMU_CASE(lss_rpl3, "movl $0, 8(%%r8)\n\tmovw $0x13, 12(%%r8)\n\t" FEP "lss 8(%%r8), %%eax")
// Offset: the landing pad (below 4 GiB, so bytes 4-5 are 0), selector CS:
// the m16:32 reading gets the null selector and #GP(0).
EMU_CASE(ljmp_m64, "lea 2f(%%rip), %%r11\n\tlea emu_far_landing(%%rip), %%rax\n\t"
                   "movq %%rax, 40(%%r8)\n\tmovw %%cs, 48(%%r8)\n\tmov $1, %%ebx\n\t" FEP
                   LJMPQ_40_R8 "\n\tmov $2, %%ebx\n2:\n\txor %%eax, %%eax")
EMU_CASE(lcall_m64, "lea emu_far_callee(%%rip), %%rax\n\tmovq %%rax, 40(%%r8)\n\t"
                    "movw %%cs, 48(%%r8)\n\tmov $1, %%ebx\n\txor %%ecx, %%ecx\n\t" FEP
                    LCALLQ_40_R8 "\n1:\n\tlea 1b(%%rip), %%rax\n\tsub %%rax, %%rbx\n\t"
                    "xor %%eax, %%eax")

bool far_fs_gs(const Outcome& o, uint64_t off, uint16_t sel) {
  return !o.ex && o.g.rax == off && (o.g.rbx & 0xffff) == sel;
}
bool far_ss(const Outcome& o, uint64_t off) {
  return !o.ex && o.g.rax == off && (o.g.rbx & 0xffff) == (o.g.rdx & 0xffff);
}
bool lxs_rex_w_xfail() {
  return !amd_like && known_tcg_difference("LFS, LGS and LSS ignore REX.W and read an m16:32 "
                                           "pointer on an Intel CPU model, as AMD CPUs do");
}
bool far_rex_w_xfail() {
  return amd_like && known_tcg_difference("far JMP and CALL through memory honour REX.W (an "
                                          "m16:64 pointer) on an AMD CPU model, as Intel CPUs do");
}

const Case kFarCases[] = {
    {"LFS r32, m16:32", BODIES(lfs_m32),
     [](const Outcome& o) { return far_fs_gs(o, kFarOff, desc::kUserDs); },
     "EAX and FS loaded (RAX zero-extended)", rflags::kFixed1, nullptr, false, false, true},
    {"LGS r32, m16:32", BODIES(lgs_m32),
     [](const Outcome& o) { return far_fs_gs(o, kFarOff, desc::kKernelDs); },
     "EAX and GS loaded (RAX zero-extended)", rflags::kFixed1, nullptr, false, false, true},
    {"LSS r32, m16:32", BODIES(lss_m32), [](const Outcome& o) { return far_ss(o, kFarOff); },
     "EAX and SS loaded (RAX zero-extended)", rflags::kFixed1, nullptr, false, false, true},
    {"LFS r64, m16:64", BODIES(lfs_m64),
     [](const Outcome& o) { return far_fs_gs(o, 0x1000000000ull | kFarOff, desc::kUserDs); },
     "the m16:64 pointer: RAX 0x1089abcdef, FS 0x23", rflags::kFixed1, nullptr, false, false,
     true, [](const Outcome& o) { return far_fs_gs(o, kFarOff, desc::kKernelDs); },
     "REX.W ignored, the m16:32 pointer: RAX 0x89abcdef, FS 0x10", lxs_rex_w_xfail},
    {"LGS r64, m16:64", BODIES(lgs_m64),
     [](const Outcome& o) { return far_fs_gs(o, 0x1000000000ull | kFarOff, desc::kUserDs); },
     "the m16:64 pointer: RAX 0x1089abcdef, GS 0x23", rflags::kFixed1, nullptr, false, false,
     true, [](const Outcome& o) { return far_fs_gs(o, kFarOff, desc::kKernelDs); },
     "REX.W ignored, the m16:32 pointer: RAX 0x89abcdef, GS 0x10", lxs_rex_w_xfail},
    {"LSS r64, m16:64", BODIES(lss_m64),
     [](const Outcome& o) { return far_ss(o, (o.g.rdx & 0xffff) << 32 | kFarOff); },
     "the m16:64 pointer: RAX (SS << 32) | 0x89abcdef", rflags::kFixed1, nullptr, false, false,
     true, [](const Outcome& o) { return far_ss(o, kFarOff); },
     "REX.W ignored, the m16:32 pointer: RAX 0x89abcdef", lxs_rex_w_xfail},
    {"LFS, descriptor not present", BODIES(lfs_not_present),
     [](const Outcome& o) { return o.ex == ExInfo(Vec::NP, kNotPresentSel); },
     "#NP(selector) (SDM vol.2A LFS, \"segment is marked not present\")", rflags::kFixed1,
     nullptr, false, false, true},
    {"LSS, descriptor not present", BODIES(lss_not_present),
     [](const Outcome& o) { return o.ex == ExInfo(Vec::SS, kNotPresentSel); },
     "#SS(selector) (SDM vol.2A LSS, \"SS register is being loaded and the segment is marked "
     "not present\")", rflags::kFixed1, nullptr, false, false, true},
    {"LSS, selector RPL 3 at CPL 0", BODIES(lss_rpl3),
     [](const Outcome& o) { return o.ex == ExInfo(Vec::GP, desc::kKernelDs); },
     "#GP(selector) (SDM vol.2A LSS, \"the segment selector RPL is not equal to CPL\")",
     rflags::kFixed1, nullptr, false, false, true},
    {"JMP m16:64", BODIES(ljmp_m64),
     [](const Outcome& o) { return !o.ex && o.g.rbx == 1 && o.g.rcx == desc::kKernelCs; },
     "far jump to the m16:64 pointer", rflags::kFixed1, nullptr, false, true, false,
     [](const Outcome& o) { return o.ex == ExInfo(Vec::GP, 0); },
     "REX.W ignored, the m16:32 pointer's selector is null: #GP(0)", far_rex_w_xfail},
    {"CALL m16:64, LRET", BODIES(lcall_m64),
     [](const Outcome& o) {
       return !o.ex && o.g.rbx == 0 && o.g.rcx == desc::kKernelCs && o.g.rdx == desc::kKernelCs;
     },
     "far call to the m16:64 pointer pushes CS and the next RIP; LRET returns there",
     rflags::kFixed1, nullptr, false, true, false,
     [](const Outcome& o) { return o.ex == ExInfo(Vec::GP, 0); },
     "REX.W ignored, the m16:32 pointer's selector is null: #GP(0)", far_rex_w_xfail},
};

// ---- the two regions ----

uint8_t* ram_area;     // kAreaSize bytes of RAM, page aligned
volatile uint8_t* mmio_area;  // kAreaSize bytes of the CMB
uint8_t* mmio_base;    // the whole CMB
uint64_t mmio_size;
Side side;

void fill(volatile uint8_t* area) {
  volatile uint64_t* q = reinterpret_cast<volatile uint64_t*>(area);
  for (unsigned i = 0; i < kAreaSize / 8; ++i) q[i] = area_le(8 * i);
}
void drain(const volatile uint8_t* area, uint8_t* out) {
  const volatile uint64_t* q = reinterpret_cast<const volatile uint64_t*>(area);
  for (unsigned i = 0; i < kAreaSize / 8; ++i) {
    uint64_t v = q[i];
    for (unsigned b = 0; b < 8; ++b) out[8 * i + b] = uint8_t(v >> (8 * b));
  }
}

void run_once(const Case& c, Body body, volatile uint8_t* area, bool mmio, Outcome* o) {
  fill(area);
  for (unsigned i = 0; i < kScratchSize; ++i) side.scratch[i] = scratch_byte(i);
  // IF as it was: the cases load RFLAGS whole.
  const bool irq_on = cpu::read_rflags() & rflags::kInterrupt;
  side.flags_in = c.flags_in | (irq_on && !c.segs ? rflags::kInterrupt : 0);
  side.flags_out = 0;
  side.aux = reinterpret_cast<uint64_t>(fx_image);
  o->g = kGprs;
  uint8_t* a = const_cast<uint8_t*>(area);
  if (c.alias) {
    const paging::MapStatus st =
        paging::map(VirtAddr(kAliasVa), PhysAddr(reinterpret_cast<uint64_t>(a)), kPageSize,
                    mmio ? paging::Attr::mmio() : paging::Attr::data());
    if (st != paging::MapStatus::ok)
      report_abort("mapping the moffs alias: %s", paging::map_status_str(st));
    a = reinterpret_cast<uint8_t*>(kAliasVa);
  }
  uint16_t fs = 0, gs = 0;
  uint64_t fs_base = 0, gs_base = 0, kgs_base = 0;
  if (c.segs) {
    cpu::cli();
    asm volatile("mov %%fs, %0\n\tmov %%gs, %1" : "=r"(fs), "=r"(gs));
    fs_base = cpu::rdmsr(cpu::kMsrFsBase);
    gs_base = cpu::rdmsr(cpu::kMsrGsBase);
    kgs_base = cpu::rdmsr(cpu::kMsrKernelGsBase);
    side.gs_base = gs_base;
  }
  o->ex = catch_fault([&] { body(&o->g, a, &side); });
  if (c.segs) {
    asm volatile("mov %0, %%fs\n\tmov %1, %%gs" ::"r"(fs), "r"(gs));
    cpu::wrmsr(cpu::kMsrFsBase, fs_base);
    cpu::wrmsr(cpu::kMsrGsBase, gs_base);
    cpu::wrmsr(cpu::kMsrKernelGsBase, kgs_base);
    if (irq_on) cpu::sti();
  }
  if (c.alias && paging::unmap(VirtAddr(kAliasVa), kPageSize) != paging::MapStatus::ok)
    report_abort("unmapping the moffs alias");
  o->flags = side.flags_out & kArithFlags;
  drain(area, o->area);
  memcpy(o->scratch, side.scratch, kScratchSize);
}

// Names the first difference between two outcomes.
void report_agree(const Outcome& ram, const Outcome& other, const char* what) {
  static const char* const kNames[] = {"RAX", "RBX", "RCX", "RDX", "RSI", "RDI"};
  const uint64_t* a = &ram.g.rax;
  const uint64_t* b = &other.g.rax;
  for (unsigned i = 0; i < 6; ++i)
    if (a[i] != b[i]) {
      report_fail("%s: %s 0x%lx, in RAM 0x%lx", what, kNames[i], b[i], a[i]);
      return;
    }
  if (ram.flags != other.flags) {
    report_fail("%s: flags 0x%lx, in RAM 0x%lx", what, other.flags, ram.flags);
    return;
  }
  if (ram.ex != other.ex) {
    char x[32], y[32];
    report_fail("%s: fault %s, in RAM %s", what, exinfo_str(other.ex, x, sizeof x),
                exinfo_str(ram.ex, y, sizeof y));
    return;
  }
  for (unsigned i = 0; i < kAreaSize; ++i)
    if (ram.area[i] != other.area[i]) {
      report_fail("%s: operand byte %u is 0x%02x, in RAM 0x%02x", what, i, other.area[i],
                  ram.area[i]);
      return;
    }
  for (unsigned i = 0; i < kScratchSize; ++i)
    if (ram.scratch[i] != other.scratch[i]) {
      report_fail("%s: scratch byte %u is 0x%02x, in RAM 0x%02x", what, i, other.scratch[i],
                  ram.scratch[i]);
      return;
    }
  report_pass("%s: registers, flags, memory and fault as in RAM", what);
}

Outcome ram_out, mmio_out, fep_out;
bool fep_on;

void run_case(const Case& c) {
  ReportPrefix p(c.name);
  if (c.needs && !cpu::has(*c.needs)) {
    report_skip("%s not enumerated", c.needs->name);
    return;
  }
  if (c.low_code && !below_4g(reinterpret_cast<const void*>(&run_case), kPageSize)) {
    report_skip("the test image lies above 4 GiB: no 32-bit offset reaches it");
    return;
  }
  run_once(c, c.plain, ram_area, false, &ram_out);
  if (c.expect) {
    char x[32];
    const bool amd = amd_like && c.expect_amd;
    const bool pass = amd ? c.expect_amd(ram_out) : c.expect(ram_out);
    report_xfail(c.xfail && c.xfail(), pass,
                 "RAM: %s (RAX 0x%lx RBX 0x%lx RCX 0x%lx flags 0x%lx, fault %s)",
                 amd ? c.expect_what_amd : c.expect_what, ram_out.g.rax, ram_out.g.rbx,
                 ram_out.g.rcx, ram_out.flags, exinfo_str(ram_out.ex, x, sizeof x));
  }
  run_once(c, c.plain, mmio_area, true, &mmio_out);
  report_agree(ram_out, mmio_out, "MMIO");
  if (fep_on) {
    run_once(c, c.forced, mmio_area, true, &fep_out);
    report_agree(ram_out, fep_out, "MMIO, forced emulation");
    run_once(c, c.forced, ram_area, false, &fep_out);
    report_agree(ram_out, fep_out, "RAM, forced emulation");
  }
}

void run_class(const char* name, const Case* cases, unsigned n) {
  ReportPrefix p(name);
  for (unsigned i = 0; i < n; ++i) run_case(cases[i]);
  if (!fep_on)
    report_skip("forced emulation of %u cases: KVM's force_emulation_prefix is off "
                "(ud2; \"kvm\" raised #UD)", n);
}

#define RUN_CLASS(name, arr) run_class(name, arr, sizeof(arr) / sizeof(arr[0]))

// ---- a #PF in the middle of REP MOVS ----

struct PfSeen {
  Regs regs;
  uint64_t cr2;
  uint64_t vector, error_code;
  bool hit;
};
PfSeen pf_seen;
uint64_t pf_resume;

bool pf_handler(ExceptionFrame* f) {
  pf_seen = {f->regs, cpu::read_cr2(), f->vector, f->error_code, true};
  f->regs.rip = pf_resume;
  return true;
}

template <bool kFep>
void rep_movsb(uint8_t* dst, const uint8_t* src, uint64_t count, uint64_t flags) {
  asm volatile("lea 1f(%%rip), %%rax\n\tmov %%rax, %[resume]\n\t"
               "pushq %[fl]\n\tpopfq\n\t" FEP "rep movsb\n1:\n\tcld"
               : "+D"(dst), "+S"(src), "+c"(count), [resume] "=m"(pf_resume)
               : [fl] "r"(flags), [fep] "i"(kFep)
               : "rax", "memory", "cc");
}

// src + count crosses into the unmapped page at `hole`; the copy must stop
// with the first byte of the hole, RCX counting what is left.
void pf_case(const char* what, uint8_t* dst, uint8_t* src, uint64_t count, uint8_t* hole,
             bool down, bool write_faults, bool forced) {
  ReportPrefix p(what);
  pf_seen = {};
  {
    ScopedHandler h(static_cast<unsigned>(Vec::PF), pf_handler);
    const uint64_t fl = down ? kFlagsDf : kFlags0;
    if (forced)
      rep_movsb<true>(dst, src, count, fl);
    else
      rep_movsb<false>(dst, src, count, fl);
  }
  if (!pf_seen.hit) {
    report_fail("no #PF");
    return;
  }
  const uint64_t h = reinterpret_cast<uint64_t>(hole);
  // Bytes copied before the fault.
  const uint64_t done = write_faults
      ? (down ? reinterpret_cast<uint64_t>(dst) - (h + kPageSize - 1)
              : h - reinterpret_cast<uint64_t>(dst))
      : (down ? reinterpret_cast<uint64_t>(src) - (h + kPageSize - 1)
              : h - reinterpret_cast<uint64_t>(src));
  const uint64_t step = down ? uint64_t(-1) : 1;
  const uint64_t want_cr2 = down ? h + kPageSize - 1 : h;
  const uint32_t want_ec = paging::pf_error::W * write_faults;
  report(pf_seen.vector == static_cast<unsigned>(Vec::PF) && pf_seen.error_code == want_ec,
         "#PF error code 0x%lx (expected 0x%x)", pf_seen.error_code, want_ec);
  report(pf_seen.cr2 == want_cr2, "CR2 0x%lx (expected 0x%lx)", pf_seen.cr2, want_cr2);
  report(pf_seen.regs[Gpr::rcx] == count - done, "RCX %lu (expected %lu)",
         pf_seen.regs[Gpr::rcx], count - done);
  const uint64_t want_rsi = reinterpret_cast<uint64_t>(src) + done * step;
  const uint64_t want_rdi = reinterpret_cast<uint64_t>(dst) + done * step;
  report(pf_seen.regs[Gpr::rsi] == want_rsi && pf_seen.regs[Gpr::rdi] == want_rdi,
         "RSI 0x%lx RDI 0x%lx (expected 0x%lx 0x%lx)", pf_seen.regs[Gpr::rsi],
         pf_seen.regs[Gpr::rdi], want_rsi, want_rdi);
}

// Two regions, each with a page to unmap: RAM and the CMB.
void rep_movs_fault(uint8_t* region, const char* where, bool forced) {
  ReportPrefix p(where);
  uint8_t* hole = region + 2 * kPageSize;
  uint8_t* ram_dst = ram_area + 1024;  // RAM, mapped, 1 KiB free after ram_area's 1 KiB
  paging::SavedRange saved(VirtAddr(hole), kPageSize);
  if (!saved.ok() || paging::unmap(VirtAddr(hole), kPageSize) != paging::MapStatus::ok) {
    report_skip("could not unmap a page of %s", where);
    return;
  }
  pf_case("read fault, DF=0", ram_dst, hole - 40, 100, hole, false, false, forced);
  pf_case("read fault, DF=1", ram_dst + 200, hole + kPageSize + 39, 100, hole, true, false,
          forced);
  pf_case("write fault, DF=0", hole - 24, ram_dst, 100, hole, false, true, forced);
  pf_case("write fault, DF=1", hole + kPageSize + 23, ram_dst + 200, 100, hole, true, true,
          forced);
}

// ---- misaligned MOVAPS ----

void movaps_misaligned(volatile uint8_t* area, const char* where) {
  ExInfo ex = catch_fault([&] {
    asm volatile("movaps 8(%0), %%xmm0" ::"r"(area) : "memory");
  });
  char what[64];
  rt::snprintf(what, sizeof what, "MOVAPS from %s+8", where);
  report_fault(ex, ExInfo(Vec::GP, 0), what);
  ex = catch_fault([&] {
    asm volatile("movaps %%xmm0, 24(%0)" ::"r"(area) : "memory");
  });
  rt::snprintf(what, sizeof what, "MOVAPS to %s+24", where);
  report_fault(ex, ExInfo(Vec::GP, 0), what);
}

// ---- finding the region ----

bool find_cmb() {
  ReportPrefix p("CMB");
  pci::Bdf f;
  if (!pci::find_class(pci::nvme::kClassStorage, pci::nvme::kSubclassNvm,
                       pci::nvme::kProgIfNvme, &f)) {
    report_skip("no NVMe controller (class 01:08:02); the cfg entry adds "
                "-device nvme,serial=...,cmb_size_mb=1");
    return false;
  }
  report_info("NVMe controller at %02x:%02x.%x", f.bus, f.device, f.function);
  const pci::Bar bar0 = pci::read_bar(f, 0);
  volatile uint8_t* regs = static_cast<volatile uint8_t*>(pci::map_bar(f, bar0));
  if (!regs) {
    report_skip("BAR0 of the NVMe controller could not be mapped (base 0x%lx size 0x%lx)",
                bar0.base, bar0.size);
    return false;
  }
  const uint64_t cap = *reinterpret_cast<volatile uint64_t*>(regs + pci::nvme::kCap);
  if (!(cap & pci::nvme::kCapCmbs)) {
    report_skip("the NVMe controller has no CMB (CAP.CMBS clear; add cmb_size_mb=1)");
    return false;
  }
  volatile uint64_t* cmbmsc = reinterpret_cast<volatile uint64_t*>(regs + pci::nvme::kCmbmsc);
  *cmbmsc = *cmbmsc | pci::nvme::kCmbmscCre;
  const uint32_t cmbloc = *reinterpret_cast<volatile uint32_t*>(regs + pci::nvme::kCmbloc);
  const uint32_t cmbsz = *reinterpret_cast<volatile uint32_t*>(regs + pci::nvme::kCmbsz);
  const unsigned bir = pci::nvme::cmbloc_bir(cmbloc);
  const uint64_t size = pci::nvme::cmb_size(cmbsz);
  const uint64_t offset = pci::nvme::cmb_offset(cmbloc, cmbsz);
  const pci::Bar bar = pci::read_bar(f, bir);
  report_info("CMBLOC 0x%x CMBSZ 0x%x: BAR%u+0x%lx, %lu KiB; BAR%u at 0x%lx, %lu KiB%s", cmbloc,
              cmbsz, bir, offset, size >> 10, bir, bar.base, bar.size >> 10,
              bar.is64 ? ", 64-bit" : "");
  report(size >= 4 * kPageSize && offset + size <= bar.size && !bar.io,
         "the CMB (%lu KiB at offset 0x%lx) lies in memory BAR%u (%lu KiB)", size >> 10, offset,
         bir, bar.size >> 10);
  if (size < 4 * kPageSize || offset + size > bar.size || bar.io) return false;
  uint8_t* base = static_cast<uint8_t*>(const_cast<void*>(pci::map_bar(f, bar)));
  if (!base) {
    report_skip("BAR%u could not be mapped at 0x%lx", bir, bar.base);
    return false;
  }
  mmio_base = base + offset;
  mmio_size = size;
  mmio_area = mmio_base;
  volatile uint64_t* q = reinterpret_cast<volatile uint64_t*>(mmio_base);
  bool back = true;
  for (unsigned i = 0; i < kAreaSize / 8; ++i) q[i] = 0x0101010101010101ull * i ^ 0xa5a5a5a55a5a5a5aull;
  for (unsigned i = 0; i < kAreaSize / 8; ++i)
    back &= q[i] == (0x0101010101010101ull * i ^ 0xa5a5a5a55a5a5a5aull);
  volatile uint8_t* b = mmio_base + 3 * kPageSize;
  b[1] = 0x5c;
  back &= b[1] == 0x5c && b[0] != 0x5c;
  report(back, "the CMB reads back what was written (8-byte and 1-byte accesses)");
  return back;
}

bool detect_fep() {
  ExInfo ex = catch_fault([] { asm volatile("ud2\n\t.ascii \"kvm\"\n\tnop"); });
  return !ex;
}


// The FPU/SSE image FXRSTOR loads before the FXSAVE cases: distinct bytes
// in every XMM register, MXCSR at its reset value.
void prepare_fx_image() {
  alignas(16) static uint8_t regs[16][16];
  for (unsigned i = 0; i < 16; ++i)
    for (unsigned b = 0; b < 16; ++b) regs[i][b] = uint8_t(0x40 + 16 * i + b);
  asm volatile("fninit\n\t"
               "movdqu 0(%[r]), %%xmm0\n\tmovdqu 16(%[r]), %%xmm1\n\tmovdqu 32(%[r]), %%xmm2\n\t"
               "movdqu 48(%[r]), %%xmm3\n\tmovdqu 64(%[r]), %%xmm4\n\tmovdqu 80(%[r]), %%xmm5\n\t"
               "movdqu 96(%[r]), %%xmm6\n\tmovdqu 112(%[r]), %%xmm7\n\tmovdqu 128(%[r]), %%xmm8\n\t"
               "movdqu 144(%[r]), %%xmm9\n\tmovdqu 160(%[r]), %%xmm10\n\tmovdqu 176(%[r]), %%xmm11\n\t"
               "movdqu 192(%[r]), %%xmm12\n\tmovdqu 208(%[r]), %%xmm13\n\tmovdqu 224(%[r]), %%xmm14\n\t"
               "movdqu 240(%[r]), %%xmm15\n\tfxsave %[img]"
               : [img] "=m"(fx_image)
               : [r] "r"(regs)
               : "memory");
}

}  // namespace

int main() {
  const mem::PageResult pr = mem::alloc_pages(4);
  if (!pr.ok()) report_abort("no pages for the RAM side");
  ram_area = reinterpret_cast<uint8_t*>(pr.pa.value);

  if (!find_cmb()) return report_summary();

  fep_on = detect_fep();
  report_info("forced emulation prefix: %s", fep_on ? "on" : "off (ud2; \"kvm\" raised #UD)");

  const bool sse = cpu::has(cpu::feature::kSse2) && (cpu::read_cr4() & cpu::cr4::OSFXSR);
  if (sse && cpu::has(cpu::feature::kFxsr)) prepare_fx_image();
  RUN_CLASS("MOV", kMovCases);
  RUN_CLASS("string", kStringCases);
  RUN_CLASS("atomic", kAtomicCases);
  RUN_CLASS("ALU", kAluCases);
  RUN_CLASS("BT", kBtCases);
  RUN_CLASS("stack and branches", kStackCases);
  RUN_CLASS("MOVBE SHLD SHRD", kShiftCases);
  if (sse) {
    RUN_CLASS("SSE", kSseCases);
    ReportPrefix p("SSE");
    movaps_misaligned(ram_area, "RAM");
    movaps_misaligned(mmio_area, "MMIO");
    RUN_CLASS("FXSAVE FXRSTOR", kFxCases);
  } else {
    report_skip("SSE and FXSAVE cases: %s clear or CR4.OSFXSR clear", cpu::feature::kSse2.name);
  }
  if (sse && cpu::has(cpu::feature::kAvx) && cpu::has(cpu::feature::kXsave)) {
    cpu::xsave::ScopedXsave x;
    namespace c = cpu::xsave::component;
    if (xsetbv_safe(cpu::xsave::kXcr0, c::X87 | c::SSE | c::AVX))
      report_skip("AVX cases: XSETBV of x87|SSE|AVX faulted");
    else
      RUN_CLASS("AVX", kAvxCases);
  } else {
    report_skip("AVX cases: %s not enumerated", cpu::feature::kAvx.name);
  }
  RUN_CLASS("system", kSystemCases);
  {
    const cpu::Vendor v = cpu::vendor();
    amd_like = v == cpu::Vendor::amd || v == cpu::Vendor::hygon;
    report_info("far pointers: %s, REX.W forms %s", cpu::vendor_str(v),
                amd_like ? "read as m16:32 (AMD64)" : "read as m16:64 (Intel 64)");
    const uint64_t saved = desc::test_descriptor(0);
    if (desc::set_test_descriptor(0, desc::kDescFlatData & ~desc::kDescPresent) != kNotPresentSel)
      report_abort("spare GDT slot 0 is not selector 0x%x", kNotPresentSel);
    RUN_CLASS("far pointers", kFarCases);
    desc::set_test_descriptor(0, saved);
  }
  {
    ReportPrefix p("REP MOVSB #PF");
    rep_movs_fault(ram_area, "RAM", false);
    rep_movs_fault(mmio_base, "MMIO", false);
    if (fep_on) {
      rep_movs_fault(ram_area, "RAM, forced emulation", true);
      rep_movs_fault(mmio_base, "MMIO, forced emulation", true);
    } else {
      report_skip("forced emulation: KVM's force_emulation_prefix is off (ud2; \"kvm\" raised #UD)");
    }
  }
  return report_summary();
}
