// access: the page-permission matrix. For each combination of paging-entry
// flags (P, R/W, U/S, XD, A, D, a reserved physical-address bit, the leaf's
// protection key) at each level of the walk, control bits (CR0.WP,
// CR4.SMEP, SMAP, PKE, PKS, with EFER.NXE as the CPU runs), EFLAGS.AC,
// PKRU and IA32_PKRS, and access kind (read, write and fetch at CPL0 and,
// through run_user, at CPL3, and implicit supervisor reads: a descriptor
// load from an LDT in the page under test), with 4 KiB, 2 MiB and 1 GiB
// leaves, the test sets the entries of one private walk, performs the
// access and compares the vector, the #PF error code, CR2 and the
// accessed/dirty flags of every entry with lib/cpu/access_model.h, whose
// rules cite Intel SDM vol.3 §4.5-4.8, §6.15 and AMD APM vol.2 §5.3-5.6,
// §8.4.2. The walk hangs under a top-level entry of its own (a PML4E, or a
// PML5E when the firmware handed over with LA57), so every flag can be
// flipped at every level without touching the rest of the address space;
// one INVLPG after each change flushes the TLB and the paging-structure
// caches (SDM vol.3 §4.10.4.1). Explicit accesses at CPL3 run with SMEP,
// SMAP and AC clear (run_user clears them, and the rules do not consult
// them for user-mode accesses), so those controls pair with CPL0 accesses
// only. Implicit reads from CPL3 run on a stub page of their own with the
// image left supervisor-only, so SMAP and AC are as the combination says
// (SDM vol.3 §4.6.1: SMAP forbids implicit supervisor reads of user-mode
// addresses whatever AC is); four of them are also named one by one.
// EFER.NXE=0 on a CPU with NX (XD turns into a reserved bit) runs for
// CPL0 reads, writes and fetches, every leaf flag and each upper flag, in
// a window that touches no page the framework mapped XD (nxe0_access).
// Implicit writes are in the model (and its host tests) but not run here:
// the CPU sets a descriptor's accessed flag only after reading it.
// When the firmware handed over with 4-level paging and the CPU has LA57,
// the upper-level groups run again at 5 levels, after a switch through
// the mode-switch trampoline (CR4.LA57 changes only with paging off), and
// the test switches back. Features the CPU lacks (SMEP, SMAP, PKU, PKS,
// 1 GiB pages, LA57) are SKIPs naming their CPUID bit. One check per access kind and group says how
// many combinations agreed; a combination that disagrees prints itself in
// words with the wanted and the seen outcome; combinations where QEMU's
// TCG is known to differ from the SDM are counted apart, as XFAILs.
//
// Arguments: none for the default matrix (every leaf flag with each
// control, each upper flag alone, every R/W-U/S-XD triple of the upper
// entries of a 4 KiB walk, each key rule); `full` for the exhaustive one
// (every upper flag with every leaf flag, the triples with the leaf's and
// SMEP/SMAP at every page size, the keys with every leaf flag and
// SMAP/AC), which prints its progress and its combination count.
#include <cstdint>

#include "cpu/access_model.h"
#include "cpu/desc.h"
#include "cpu/exceptions.h"
#include "cpu/modeswitch.h"
#include "cpu/pagetable.h"
#include "mem/paging.h"
#include "cpu/processor.h"
#include "cpu/regs.h"
#include "cpu/usermode.h"
#include "mem/memory.h"
#include "rt/expect.h"
#include "rt/format.h"
#include "rt/report.h"
#include "rt/string.h"
#include "timer/clock.h"

namespace {

namespace am = access_model;
namespace pte = paging::pte;

constexpr uint64_t kGiB = 1ull << 30;
// Top-level slots nothing else uses: below the identity map's reach and
// apart from x86/paging.cc's aliases.
constexpr uint64_t kBase4Level = 0x0000'6b00'0000'0000ull;   // PML4 index 0xd6
constexpr uint64_t kBase5Level = 0x00d6'0000'0000'0000ull;   // PML5 index 0x1ac
constexpr uint64_t kDataOffset = 64;  // reads and writes; fetches run the RET at 0
// Implicit supervisor reads: loading DS with an LDT selector reads its
// descriptor from the LDT (Intel SDM vol.3 §3.4.2: TI=1 selects it; §3.5.1), a
// system-structure access that is supervisor-mode whatever the CPL (SDM
// vol.3 §4.6), so the error code has U/S=0 even at CPL3 (SDM vol.3 §4.7).
// The LDT sits at the test frame, and the descriptor the selector names
// at offset kLdtOffset of it: a DPL3 data segment, so that CPL3 may load
// it too, present and already accessed so that the load only reads it.
constexpr unsigned kLdtIndex = 32;
constexpr uint64_t kLdtOffset = kLdtIndex * 8;
constexpr uint16_t kLdtSelector = kLdtIndex << 3 | desc::kSelectorTi | 3;
constexpr unsigned kLdtSlot = 0;  // and slot 1: a 16-byte system descriptor
constexpr uint8_t kRet = 0xc3;
constexpr uint64_t kPattern = 0x5a5a'c0de'0000'0001ull;
constexpr unsigned kMaxFailLines = 24;

struct Cpu {
  bool smep, smap, pku, pks, page1g, nxe;
  unsigned maxphyaddr;
  int levels;
};
Cpu caps;

// One mapping under test: the entries that translate it, as the builder
// made them, and the address of the test frame through it.
struct Target {
  am::PageSize size;
  uint64_t va;
  uint64_t* entry[5];  // root first
  uint64_t base[5];    // the entries as mapped; their flags get replaced
  int count;
};

uint64_t rsvd_bit() { return caps.maxphyaddr < 52 ? 1ull << caps.maxphyaddr : 0; }

uint64_t compose(uint64_t base, const am::Entry& e, bool leaf, uint8_t pkey) {
  uint64_t v = base & ~(pte::P | pte::RW | pte::US | pte::A | pte::D | pte::NX |
                        pte::kPkeyMask | rsvd_bit());
  if (e.p) v |= pte::P;
  if (e.rw) v |= pte::RW;
  if (e.us) v |= pte::US;
  if (e.nx) v |= pte::NX;
  if (e.a) v |= pte::A;
  if (e.rsvd) v |= rsvd_bit();
  if (leaf) {
    if (e.d) v |= pte::D;
    v |= uint64_t(pkey) << pte::kPkeyShift;
  }
  return v;
}

// CR0, CR4, PKRU and IA32_PKRS as main() found them.
struct Saved {
  uint64_t cr0, cr4, pkrs;
  uint32_t pkru;
};
Saved saved;

uint64_t pkrs_now;

// Sets the registers a combination names; each is written only when it
// changes (every write of CR0 or CR4 flushes the TLB).
void apply_controls(const am::Controls& c) {
  const uint64_t cr0 = (saved.cr0 & ~cpu::cr0::WP) | (c.wp ? cpu::cr0::WP : 0);
  uint64_t cr4 =
      saved.cr4 & ~(cpu::cr4::SMEP | cpu::cr4::SMAP | cpu::cr4::PKE | cpu::cr4::PKS);
  if (c.smep) cr4 |= cpu::cr4::SMEP;
  if (c.smap) cr4 |= cpu::cr4::SMAP;
  if (c.pke) cr4 |= cpu::cr4::PKE;
  if (c.pks) cr4 |= cpu::cr4::PKS;
  if (cpu::read_cr0() != cr0) cpu::write_cr0(cr0);
  if (cpu::read_cr4() != cr4) cpu::write_cr4(cr4);
  // WRPKRU needs CR4.PKE (SDM vol.2B "WRPKRU"); with PKE clear PKRU is not
  // consulted, so its value does not matter then.
  if (c.pke && cpu::rdpkru() != c.pkru) cpu::wrpkru(c.pkru);
  if (caps.pks && pkrs_now != c.pkrs) {
    cpu::wrmsr(cpu::kMsrPkrs, c.pkrs);
    pkrs_now = c.pkrs;
  }
}

void restore_controls() {
  cpu::write_cr0(saved.cr0);
  cpu::write_cr4(saved.cr4 | (caps.pku ? cpu::cr4::PKE : 0));
  if (caps.pku) cpu::wrpkru(saved.pkru);
  cpu::write_cr4(saved.cr4);
  if (caps.pks) cpu::wrmsr(cpu::kMsrPkrs, saved.pkrs);
  pkrs_now = saved.pkrs;
}

// What one access did.
struct Seen {
  ExInfo ex;
  uint64_t cr2 = 0;
  bool a[5] = {};
  bool d = false;
};

// CPL0 accesses. The address comes in a register, so the instruction is
// the access and nothing else.
__attribute__((noinline)) void sup_read(uint64_t va) {
  asm volatile("mov (%0), %%rax" ::"r"(va) : "rax", "memory");
}
__attribute__((noinline)) void sup_write(uint64_t va) {
  asm volatile("movq %1, (%0)" ::"r"(va), "r"(kPattern) : "memory");
}
__attribute__((noinline)) void sup_fetch(uint64_t va) {
  asm volatile("call *%0" ::"r"(va) : "memory");
}

__attribute__((noinline)) void implicit_read(uint64_t) {
  asm volatile("mov %0, %%ds\n"
               "mov %1, %%ds" ::"r"(uint32_t(kLdtSelector)),
               "r"(uint32_t(desc::kKernelDs))
               : "memory");
}

// Implicit supervisor reads from CPL3, with SMAP and AC as the
// combination says. run_user cannot do them: it makes the whole image
// user-accessible and so clears SMEP and SMAP for the duration. Here the
// image stays supervisor-only, and CPL3 runs a stub of its own on a page
// of a top-level slot of its own (so no flag of the walk under test
// touches it): MOV DS from EAX, the LDT selector, then UD2. The load
// either faults, or completes and the UD2 ends the trip with a #UD at the
// stub's second instruction. Either way the exception arrives on the TSS
// RSP0 stack through the supervisor-only IDT and GDT, so SMAP does not
// hinder the way back, and the fault catcher resumes at CPL0.
constexpr uint8_t kStub[] = {0x8e, 0xd8, 0x0f, 0x0b};  // mov %eax, %ds; ud2
constexpr uint64_t kStubUd2 = 2;                       // offset of the UD2
uint64_t stub_va;
uint64_t ud_rip;

bool record_ud(ExceptionFrame* f) {
  ud_rip = f->regs.rip;
  return false;  // on to the fault catcher
}

[[noreturn]] __attribute__((noinline)) void enter_cpl3(uint64_t rip, uint64_t flags) {
  // No user stack: the stub pushes nothing, and an exception from CPL3
  // switches to RSP0.
  asm volatile("pushq %[ss]\n\tpushq %[rsp]\n\tpushq %[fl]\n\tpushq %[cs]\n\tpushq %[rip]\n\t"
               "iretq" ::[ss] "i"(uint64_t(desc::kUserDs)),
               [rsp] "r"(rip + kPageSize), [fl] "r"(flags), [cs] "i"(uint64_t(desc::kUserCs)),
               [rip] "r"(rip), "a"(uint32_t(kLdtSelector))
               : "memory");
  __builtin_unreachable();
}

ExInfo cpl3_implicit_read(bool ac) {
  const uint64_t flags = cpu::read_rflags();
  ScopedHandler h(uint8_t(Vec::UD), record_ud);
  ud_rip = 0;
  ExInfo ex = catch_fault([ac] {
    enter_cpl3(stub_va, rflags::kFixed1 | (ac ? rflags::kAlignmentCheck : 0));
  });
  asm volatile("mov %0, %%ds\n\tmov %0, %%es" ::"r"(uint32_t(desc::kKernelDs)) : "memory");
  cpu::write_rflags(flags);
  if (ex == ExInfo(Vec::UD) && ud_rip == stub_va + kStubUd2) return ExInfo();
  return ex;
}

// CPL0 accesses with EFER.NXE = 0 on a CPU that has NX. Then XD (bit 63)
// is a reserved bit in every paging-structure entry (SDM vol.3 §4.5, the
// tables' "Reserved (must be 0)" for bit 63 when NXE = 0, and §4.6.1:
// instruction fetches are not restricted by XD; APM vol.2 §5.3.3,
// §5.6.1), so every data page of the framework, all mapped XD, turns into
// a reserved-bit fault. The access runs in a window that touches none of
// them: interrupts off, on a window page of its own (a third top-level
// slot, mapped without XD) that holds a stack, copies of the GDT's first
// descriptors and an IDT whose only gate, #PF, leads to a handler that
// stores the error code and CR2 on that page and resumes after the
// access. The code runs from the image's text, which is mapped without
// XD at every level, or it could not run at all. EFER.NXE comes back
// before anything else is touched.
//
// The window page: results, descriptor-table registers, the GDT and IDT
// copies, and the stack at its top.
namespace win {
constexpr unsigned kErr = 0, kCr2 = 8, kHit = 16, kResume = 24;
constexpr unsigned kSavedGdtr = 32, kSavedIdtr = 48, kGdtr = 64, kIdtr = 80;
constexpr unsigned kGdt = 256, kGdtBytes = 0x50;  // the selectors below the TSSs
constexpr unsigned kIdt = 512, kIdtGates = 15;    // vectors 0-14; only #PF present
}  // namespace win
static_assert(win::kGdtBytes <= desc::kTssBase);
uint8_t* window;  // through its own mapping

extern "C" void access_nxe0_pf();
// #PF in the window: error code, CR2 and "hit" to the window page (found
// from RSP, which lies in it), then on at the resume address. Top-level
// asm takes no operands: the offsets below are win::'s.
static_assert(win::kErr == 0 && win::kCr2 == 8 && win::kHit == 16 && win::kResume == 24);
asm(".pushsection .text\n"
    ".balign 16\n"
    "access_nxe0_pf:\n\t"
    "push %rax\n\t"
    "push %rdx\n\t"
    "mov %rsp, %rax\n\t"
    "and $~0xfff, %rax\n\t"
    "mov 16(%rsp), %rdx\n\t"
    "mov %rdx, 0(%rax)\n\t"
    "mov %cr2, %rdx\n\t"
    "mov %rdx, 8(%rax)\n\t"
    "movq $1, 16(%rax)\n\t"
    "mov 24(%rax), %rdx\n\t"
    "mov %rdx, 24(%rsp)\n\t"
    "pop %rdx\n\t"
    "pop %rax\n\t"
    "add $8, %rsp\n\t"
    "iretq\n"
    ".popsection");

void prepare_window() {
  desc::DescriptorPointer gdtr;
  asm volatile("sgdt %0" : "=m"(gdtr));
  memcpy(window + win::kGdt, reinterpret_cast<const void*>(gdtr.base), win::kGdtBytes);
  const desc::DescriptorPointer g{uint16_t(win::kGdtBytes - 1),
                                  reinterpret_cast<uint64_t>(window + win::kGdt)};
  memcpy(window + win::kGdtr, &g, sizeof g);
  // An interrupt gate (type 0xE, present, DPL0) to the handler (SDM vol.3
  // §6.14.1, figure 6-8).
  const uint64_t h = reinterpret_cast<uint64_t>(&access_nxe0_pf);
  uint64_t gate[2] = {(h & 0xffff) | uint64_t(desc::kKernelCs) << 16 | 0x8eull << 40 |
                          (h >> 16 & 0xffff) << 48,
                      h >> 32};
  memset(window + win::kIdt, 0, 16 * win::kIdtGates);
  memcpy(window + win::kIdt + 16 * uint8_t(Vec::PF), gate, sizeof gate);
  const desc::DescriptorPointer i{uint16_t(16 * win::kIdtGates - 1),
                                  reinterpret_cast<uint64_t>(window + win::kIdt)};
  memcpy(window + win::kIdtr, &i, sizeof i);
}

Seen nxe0_access(uint64_t va, am::Op op) {
  const uint64_t flags = cpu::read_rflags();
  cpu::cli();
  asm volatile(
      "lea 9f(%%rip), %%rax\n\tmov %%rax, %c[resume](%[w])\n\tmovq $0, %c[hit](%[w])\n\t"
      "sgdt %c[sgdtr](%[w])\n\tsidt %c[sidtr](%[w])\n\t"
      "lgdt %c[gdtr](%[w])\n\tlidt %c[idtr](%[w])\n\t"
      "mov %%rsp, %%r9\n\tlea 4096(%[w]), %%rsp\n\t"
      "mov %[efer], %%ecx\n\trdmsr\n\tbtr %[nxe], %%eax\n\twrmsr\n\t"
      "invlpg (%[va])\n\t"
      "cmp $1, %[op]\n\tje 2f\n\tja 3f\n\t"
      "mov (%[va]), %%rax\n\tjmp 9f\n"
      "2:\n\tmov %[pat], (%[va])\n\tjmp 9f\n"
      "3:\n\tcall *%[va]\n"
      "9:\n\tmov %[efer], %%ecx\n\trdmsr\n\tbts %[nxe], %%eax\n\twrmsr\n\t"
      "mov %%r9, %%rsp\n\t"
      "lgdt %c[sgdtr](%[w])\n\tlidt %c[sidtr](%[w])"
      :
      : [w] "r"(window), [va] "r"(va), [op] "r"(uint32_t(op)), [pat] "r"(kPattern),
        [efer] "i"(cpu::kMsrEfer), [nxe] "i"(__builtin_ctzll(cpu::efer::NXE)),
        [resume] "i"(win::kResume), [hit] "i"(win::kHit), [sgdtr] "i"(win::kSavedGdtr),
        [sidtr] "i"(win::kSavedIdtr), [gdtr] "i"(win::kGdtr), [idtr] "i"(win::kIdtr)
      : "rax", "rcx", "rdx", "r9", "memory", "cc");
  cpu::write_rflags(flags);
  Seen s;
  uint64_t err, cr2, hit;
  memcpy(&err, window + win::kErr, sizeof err);
  memcpy(&cr2, window + win::kCr2, sizeof cr2);
  memcpy(&hit, window + win::kHit, sizeof hit);
  if (hit) s.ex = ExInfo(Vec::PF, uint32_t(err));
  s.cr2 = hit ? cr2 : 0;
  return s;
}

uint64_t access_address(const Target& t, const am::Access& a) {
  if (a.mode == am::Mode::implicit_supervisor) return t.va + kLdtOffset;
  return a.op == am::Op::fetch ? t.va : t.va + kDataOffset;
}

// cpl3: an implicit read done from CPL3 (the others know their CPL).
Seen perform(const Target& t, const am::Combination& c, bool cpl3) {
  const uint64_t va = access_address(t, c.access);
  Seen s;
  cpu::write_cr2(0);
  if (!c.controls.nxe && caps.nxe) {
    const Seen w = nxe0_access(va, c.access.op);
    s.ex = w.ex;
    s.cr2 = w.cr2;
  } else if (cpl3) {
    s.ex = cpl3_implicit_read(c.controls.ac);
    s.cr2 = cpu::read_cr2();
  } else if (c.access.mode == am::Mode::user) {
    UserResult r;
    switch (c.access.op) {
      case am::Op::read:
        r = run_user([va] { return *reinterpret_cast<volatile uint64_t*>(va); });
        break;
      case am::Op::write:
        r = run_user([va] { *reinterpret_cast<volatile uint64_t*>(va) = kPattern; });
        break;
      case am::Op::fetch:
        r = run_user([va] { reinterpret_cast<void (*)()>(va)(); });
        break;
    }
    s.ex = r.ex;
    s.cr2 = r.cr2;
  } else {
    void (*fn)(uint64_t) = c.access.mode == am::Mode::implicit_supervisor ? implicit_read
                           : c.access.op == am::Op::read                    ? sup_read
                           : c.access.op == am::Op::write                   ? sup_write
                                                                            : sup_fetch;
    const bool ac = c.controls.ac;
    s.ex = catch_fault([&] {
      if (ac) cpu::write_rflags(cpu::read_rflags() | rflags::kAlignmentCheck);
      fn(va);
      cpu::write_rflags(cpu::read_rflags() & ~rflags::kAlignmentCheck);
    });
    cpu::write_rflags(cpu::read_rflags() & ~rflags::kAlignmentCheck);
    s.cr2 = cpu::read_cr2();
  }
  for (int i = 0; i < t.count; ++i) s.a[i] = *t.entry[i] & pte::A;
  s.d = *t.entry[t.count - 1] & pte::D;
  return s;
}

// Known differences of QEMU's TCG from the SDM. Each predicts what TCG
// does instead of the model's outcome; a combination where the prediction
// differs from the model is counted under that difference, and its check
// is an XFAIL under TCG (XPASS, a failure, should TCG start to agree).
struct Deviation {
  const char* why;
  // The outcome TCG gives instead of `want`; returns false when this
  // difference does not change the outcome of the combination.
  bool (*predict)(const am::Combination& c, am::Outcome* want);
  bool cpl0_only = false;  // QEMU gets the same access right from CPL3
};

// SDM vol.3 §4.7: RSVD is reported only together with P. QEMU builds the
// error code of a reserved-bit fault without P
// (target/i386/tcg/sysemu/excp_helper.c, do_fault_rsvd).
bool rsvd_without_p(const am::Combination&, am::Outcome* o) {
  if (!o->fault || !(o->error_code & am::pfec::RSVD)) return false;
  o->error_code &= ~am::pfec::P;
  return true;
}

// SDM vol.3 §4.7 (PK flag) and §4.6.2: a data access to a supervisor-mode
// address whose key IA32_PKRS disallows reports PK, a user-mode access
// included. QEMU rejects a user-mode access to a supervisor-mode page
// before it looks at the key, and reports no PK.
bool pks_user_no_pk(const am::Combination& c, am::Outcome* o) {
  if (!o->fault || !(o->error_code & am::pfec::PK) || c.access.mode != am::Mode::user) return false;
  if (!c.controls.pks) return false;
  bool all_us = true;
  for (int i = 0; i < c.walk.count(); ++i) all_us = all_us && c.walk.entry[i].us;
  if (all_us) return false;
  o->error_code &= ~am::pfec::PK;
  return true;
}

// SDM vol.3 §4.6.1: with CR4.SMAP = 1, implicit supervisor accesses may
// not read user-mode addresses, whatever EFLAGS.AC says. QEMU picks the
// SMAP-free MMU index for implicit accesses at CPL < 3 when AC = 1
// (cpu_mmu_index_kernel), as it does for explicit ones; at CPL3 it keeps
// the SMAP check.
bool implicit_smap_ac(const am::Combination& c, am::Outcome* o) {
  if (c.access.mode != am::Mode::implicit_supervisor || !c.controls.smap || !c.controls.ac)
    return false;
  am::Controls no_smap = c.controls;
  no_smap.smap = false;
  const am::Outcome q = am::evaluate(c.walk, no_smap, c.access);
  if (q.fault == o->fault && q.error_code == o->error_code) return false;
  *o = q;
  return true;
}

constexpr Deviation kDeviations[] = {
    {"implicit supervisor accesses at CPL0 with EFLAGS.AC=1 skip the SMAP check",
     implicit_smap_ac, true},
    {"a reserved-bit #PF leaves the P bit of the error code clear", rsvd_without_p},
    {"a user-mode access to a supervisor-mode page keyed off by IA32_PKRS reports no PK",
     pks_user_no_pk},
};
constexpr unsigned kDeviationCount = sizeof(kDeviations) / sizeof(kDeviations[0]);

// Whether TCG is known to differ this way: asked once per difference (it
// prints an INFO line).
int deviation_known[kDeviationCount];  // 0 not asked, 1 yes, -1 no
bool deviation_applies(unsigned d) {
  if (!deviation_known[d]) deviation_known[d] = known_tcg_difference(kDeviations[d].why) ? 1 : -1;
  return deviation_known[d] > 0;
}

// Per access kind: how many combinations ran and agreed; per difference,
// how many it covered and how many of those agreed with the model.
struct Tally {
  uint64_t ran = 0, agreed = 0, failed = 0;
  uint64_t dev_ran[kDeviationCount] = {}, dev_agreed[kDeviationCount] = {};
};

void report_mismatch(Tally& tally, const am::Combination& c, bool cpl3, const char* what) {
  ++tally.failed;
  if (tally.failed > kMaxFailLines) return;
  char words[320];
  am::describe(words, sizeof words, c.walk, c.controls, c.access);
  report_fail("%s%s -> %s", words, cpl3 ? " (at CPL3)" : "", what);
}

// Compares what one access did with an outcome; "" when they agree, else
// what differs, in `line`.
bool compare(const Target& t, const am::Combination& c, const am::Outcome& want, const Seen& s,
             char* line, size_t size) {
  char w[32], g[32];
  const ExInfo want_ex = want.fault ? ExInfo(Vec::PF, want.error_code) : ExInfo();
  if (s.ex != want_ex) {
    exinfo_str(s.ex, g, sizeof g);
    rt::snprintf(line, size, "want %s, got %s", am::outcome_str(w, sizeof w, want), g);
    return false;
  }
  const uint64_t addr = access_address(t, c.access);
  if (want.fault && s.cr2 != addr) {
    rt::snprintf(line, size, "#PF as wanted, but CR2 0x%lx, want 0x%lx", s.cr2, addr);
    return false;
  }
  for (int i = 0; i < t.count; ++i) {
    if (!am::flag_matches(want.a[i], s.a[i])) {
      rt::snprintf(line, size, "%s, but %s.A=%d, want %s", am::outcome_str(w, sizeof w, want),
                   am::entry_name(c.walk, i), s.a[i], am::flag_str(want.a[i]));
      return false;
    }
  }
  if (!am::flag_matches(want.d, s.d)) {
    rt::snprintf(line, size, "%s, but %s.D=%d, want %s", am::outcome_str(w, sizeof w, want),
                 am::entry_name(c.walk, t.count - 1), s.d, am::flag_str(want.d));
    return false;
  }
  return true;
}

// Sets the walk and the controls of a combination and performs it.
Seen set_and_perform(const Target& t, const am::Combination& c, bool cpl3) {
  for (int i = 0; i < t.count; ++i)
    *t.entry[i] = compose(t.base[i], c.walk.entry[i], i == t.count - 1, c.walk.pkey);
  cpu::invlpg(reinterpret_cast<const void*>(t.va));
  apply_controls(c.controls);
  return perform(t, c, cpl3);
}

// Runs one combination on target t and counts it.
void run_one(const Target& t, const am::Combination& c, bool cpl3, Tally& tally) {
  const Seen s = set_and_perform(t, c, cpl3);
  const am::Outcome want = am::evaluate(c.walk, c.controls, c.access);
  ++tally.ran;

  char line[128];
  const bool agrees = compare(t, c, want, s, line, sizeof line);
  for (unsigned d = 0; d < kDeviationCount; ++d) {
    am::Outcome tcg = want;
    if (cpl3 && kDeviations[d].cpl0_only) continue;
    if (!kDeviations[d].predict(c, &tcg) || !deviation_applies(d)) continue;
    char other[128];
    if (agrees) {
      ++tally.dev_ran[d];
      ++tally.dev_agreed[d];
    } else if (compare(t, c, tcg, s, other, sizeof other)) {
      ++tally.dev_ran[d];
    } else {
      report_mismatch(tally, c, cpl3, line);  // neither the model nor the known difference
    }
    return;
  }
  if (agrees)
    ++tally.agreed;
  else
    report_mismatch(tally, c, cpl3, line);
}

// A combination the guest can run as the model states it: CPL3 runs with
// SMEP, SMAP and AC clear (run_user), so those pair with CPL0 only.
// Implicit writes (the CPU setting a descriptor's accessed flag) follow a
// read of the same descriptor, so they are in the model only.
bool runnable(const am::Combination& c) {
  if (c.access.mode == am::Mode::user && (c.controls.smep || c.controls.smap || c.controls.ac))
    return false;
  if (c.access.mode == am::Mode::implicit_supervisor && c.access.op != am::Op::read)
    return false;
  // EFER.NXE = 0 on a CPU with NX: explicit CPL0 accesses in the window.
  if (!c.controls.nxe && caps.nxe && c.access.mode != am::Mode::supervisor) return false;
  return true;
}

uint64_t now_ms() {
  const uint64_t hz = timer::tsc_hz();
  return hz ? cpu::rdtsc() / (hz / 1000) : 0;
}

struct Group {
  const char* name;
  am::Space space;
};

// Runs every runnable combination of a space on t, one check per access
// kind.
void run_space(const Target& t, const Group& grp, bool progress, uint64_t* total) {
  ReportPrefix p(grp.name);
  const uint64_t n = am::count(grp.space);
  const uint64_t start = now_ms();
  // Per access kind (mode * 3 + op), and implicit reads from CPL3 last.
  constexpr unsigned kImplicitCpl3 = 9;
  Tally per[kImplicitCpl3 + 1];
  for (uint64_t i = 0; i < n; ++i) {
    const am::Combination c = am::combination(grp.space, i);
    if (!runnable(c)) continue;
    const unsigned k = unsigned(c.access.mode) * 3 + unsigned(c.access.op);
    run_one(t, c, false, per[k]);
    // The same implicit read from CPL3, with the combination's SMAP and
    // AC (SMEP says nothing about data reads: once, with SMEP clear).
    if (c.access.mode == am::Mode::implicit_supervisor && !c.controls.smep)
      run_one(t, c, true, per[kImplicitCpl3]);
  }
  restore_controls();
  uint64_t ran = 0;
  for (unsigned k = 0; k <= kImplicitCpl3; ++k) {
    const Tally& tl = per[k];
    if (!tl.ran) continue;
    ran += tl.ran;
    const am::Access a{static_cast<am::Op>(k % 3), static_cast<am::Mode>(k / 3)};
    const char* mode = k == kImplicitCpl3 ? "CPL3 implicit supervisor" : am::mode_str(a.mode);
    if (tl.failed > kMaxFailLines)
      report_info("%s %s: %lu more disagreements not shown", mode, am::op_str(a.op),
                  tl.failed - kMaxFailLines);
    uint64_t deviated = 0;
    for (unsigned d = 0; d < kDeviationCount; ++d) deviated += tl.dev_ran[d];
    report(tl.failed == 0, "%s %s: %lu of %lu combinations agree with the model", mode,
           am::op_str(a.op), tl.agreed, tl.ran - deviated);
    for (unsigned d = 0; d < kDeviationCount; ++d) {
      if (!tl.dev_ran[d]) continue;
      report_xfail(deviation_applies(d), tl.dev_agreed[d] == tl.dev_ran[d],
                   "%s %s: %lu of %lu combinations where %s agree with the model", mode,
                   am::op_str(a.op), tl.dev_agreed[d], tl.dev_ran[d],
                   kDeviations[d].why);
    }
  }
  *total += ran;
  if (progress)
    report_info("%lu combinations in %lu ms (%lu so far)", ran, now_ms() - start, *total);
}

// The SMAP rule for implicit accesses, one line per case (SDM vol.3
// §4.6.1: with CR4.SMAP = 1, implicit supervisor-mode accesses may not
// read user-mode addresses, whatever EFLAGS.AC says): from CPL3, MOV DS
// with an LDT selector reads the descriptor from an LDT on a user page,
// with SMAP 0 and 1 and AC 0 and 1. The matrix runs these among its CPL3
// implicit reads; here each is named, with its outcome.
void implicit_smap_checks(const Target& t) {
  ReportPrefix p("CPL3 descriptor read from a user page");
  for (int smap = 0; smap < 2; ++smap) {
    if (smap && !caps.smap) {
      report_skip("SMAP=1: %s is clear", cpu::feature::kSmap.name);
      break;
    }
    for (int ac = 0; ac < 2; ++ac) {
      am::Combination c;
      c.walk.levels = caps.levels;
      c.walk.size = t.size;
      c.controls.nxe = caps.nxe;
      c.controls.smap = smap;
      c.controls.ac = ac;
      c.access = {am::Op::read, am::Mode::implicit_supervisor};
      const Seen s = set_and_perform(t, c, true);
      const am::Outcome want = am::evaluate(c.walk, c.controls, c.access);
      char line[128], w[32], g[32];
      const bool ok = compare(t, c, want, s, line, sizeof line);
      report(ok, "SMAP=%d AC=%d: want %s, got %s (CR2 0x%lx, the LDT entry at 0x%lx)%s%s", smap,
             ac, am::outcome_str(w, sizeof w, want), exinfo_str(s.ex, g, sizeof g), s.cr2,
             access_address(t, c.access), ok ? "" : ": ", ok ? "" : line);
    }
  }
  restore_controls();
}

// EFER.NXE = 0 one line per case: a read, a write and a fetch with XD set
// in the leaf and in the root entry (reserved-bit faults, SDM vol.3 §4.5
// and §4.7), and a fetch with XD clear (no fault: nothing else restricts
// it). The matrix runs these among its NXE=0 groups; here each is named.
void nxe0_checks(const Target& t) {
  ReportPrefix p("NXE=0");
  unsigned rsvd_dev = 0;
  while (kDeviations[rsvd_dev].predict != rsvd_without_p) ++rsvd_dev;
  constexpr am::Op kOps[] = {am::Op::read, am::Op::write, am::Op::fetch};
  for (int where = 0; where < 3; ++where) {
    for (am::Op op : kOps) {
      if (where == 2 && op != am::Op::fetch) continue;
      am::Combination c;
      c.walk.levels = caps.levels;
      c.walk.size = t.size;
      c.controls.nxe = false;
      c.access = {op, am::Mode::supervisor};
      if (where == 0) c.walk.leaf().nx = true;
      if (where == 1) c.walk.entry[0].nx = true;
      const Seen s = set_and_perform(t, c, false);
      const am::Outcome want = am::evaluate(c.walk, c.controls, c.access);
      am::Outcome tcg = want;
      const bool deviates = kDeviations[rsvd_dev].predict(c, &tcg) && deviation_applies(rsvd_dev);
      char line[128], w[32], g[32];
      const bool ok = compare(t, c, want, s, line, sizeof line);
      report_xfail(deviates, ok, "supervisor %s, XD=%s: want %s, got %s (CR2 0x%lx)",
                   am::op_str(op), where == 0 ? "1 in the leaf" : where == 1 ? "1 in the root entry"
                                                                         : "0 everywhere",
                   am::outcome_str(w, sizeof w, want), exinfo_str(s.ex, g, sizeof g), s.cr2);
    }
  }
  restore_controls();
}

// The frame the walks under test lead to: a RET at offset 0 for fetches,
// the LDT descriptor at kLdtOffset.
PhysAddr test_frame;
uint16_t saved_ldtr;

bool make_target(am::PageSize size, uint64_t slot_base, Target* t) {
  const uint64_t page = size == am::PageSize::k4K ? kPageSize
                        : size == am::PageSize::k2M ? kLargePageSize
                                                    : kGiB;
  // Each size gets its own 1 GiB-aligned stretch in the slot; the page
  // maps the naturally aligned region around the test frame, and the
  // accesses land on the frame itself.
  const uint64_t region = slot_base + (uint64_t(size) + 1) * 4 * kGiB;
  const uint64_t pa_base = test_frame.value & ~(page - 1);
  const uint64_t off = test_frame.value & (page - 1);
  paging::Attr attr{.write = true, .user = true, .nx = false};
  if (paging::MapStatus st = paging::map(VirtAddr(region), PhysAddr(pa_base), page, attr);
      st != paging::MapStatus::ok) {
    report_fail("%s: mapping the test page: %s", am::page_size_str(size),
                paging::map_status_str(st));
    return false;
  }
  t->size = size;
  t->va = region + off;
  t->count = paging::walk(VirtAddr(t->va), t->entry);
  am::Walk w;
  w.levels = caps.levels;
  w.size = size;
  if (t->count != w.count()) {
    report_fail("%s: the builder made a walk of %d entries, want %d", am::page_size_str(size),
                t->count, w.count());
    return false;
  }
  for (int i = 0; i < t->count; ++i) t->base[i] = *t->entry[i];
  desc::set_test_descriptor(kLdtSlot, desc::ldt_descriptor_low(t->va, kLdtOffset + 7));
  desc::set_test_descriptor(kLdtSlot + 1, desc::ldt_descriptor_high(t->va));
  asm volatile("lldt %w0" ::"r"(uint32_t(desc::kTestSlotBase + 8 * kLdtSlot)) : "memory");
  return true;
}

void drop_target(const Target& t) {
  asm volatile("lldt %w0" ::"r"(uint32_t(saved_ldtr)) : "memory");
  for (int i = 0; i < t.count; ++i) *t.entry[i] = t.base[i];
  const uint64_t page = t.size == am::PageSize::k4K ? kPageSize
                        : t.size == am::PageSize::k2M ? kLargePageSize
                                                      : kGiB;
  (void)paging::unmap(VirtAddr(t.va & ~(page - 1)), page);
}

am::Space base_space(am::PageSize size) {
  am::Space s;
  s.levels = caps.levels;
  s.size = size;
  s.nxe = caps.nxe;
  s.rsvd = rsvd_bit() != 0;
  s.implicit = true;
  return s;
}

// Every page size on walks under `slot`; `upper_only`: the groups that
// vary the upper entries alone (the 5-level pass).
void run_sizes(uint64_t slot, bool full, bool upper_only, uint64_t* total) {
  namespace f = cpu::feature;
  constexpr am::PageSize kSizes[] = {am::PageSize::k4K, am::PageSize::k2M, am::PageSize::k1G};
  for (am::PageSize size : kSizes) {
    ReportPrefix p(am::page_size_str(size));
    if (size == am::PageSize::k1G && !caps.page1g) {
      report_skip("1 GiB pages: %s is clear", f::kPage1gb.name);
      continue;
    }
    Target t;
    if (!make_target(size, slot, &t)) continue;

    // Every leaf flag with every control the CPU has (default: WP alone
    // for the large leaves).
    const bool big = size != am::PageSize::k4K;
    am::Space leaf = base_space(size);
    leaf.vary_smep = caps.smep && (full || !big);
    leaf.vary_smap = caps.smap && (full || !big);
    leaf.vary_ac = caps.smap && (full || !big);
    leaf.upper_single = false;
    // Each upper flag alone (default), or with every leaf flag.
    am::Space upper = base_space(size);
    if (!full) upper.leaf_bits = 0;
    // Every R/W, U/S, XD triple of every upper entry at once; exhaustive:
    // with the leaf's too, and SMEP/SMAP.
    am::Space cross = base_space(size);
    cross.upper_single = false;
    cross.upper_cross = true;
    cross.leaf_bits = full ? am::leafbit::RW | am::leafbit::US | am::leafbit::NX : 0;
    cross.vary_smep = full && caps.smep;
    cross.vary_smap = full && caps.smap;
    // The key rules, with the leaf flags that decide them (every leaf
    // flag, and SMAP/AC, when exhaustive).
    am::Space keys = base_space(size);
    keys.pke = caps.pku;
    keys.pks = caps.pks;
    keys.upper_single = false;
    keys.leaf_bits = full ? am::leafbit::kAll : am::leafbit::RW | am::leafbit::US;
    keys.vary_smap = full && caps.smap;
    keys.vary_ac = full && caps.smap;

    if (size == am::PageSize::k4K && !upper_only) {
      implicit_smap_checks(t);
      if (caps.nxe) nxe0_checks(t);
    }
    const Group groups[] = {{"leaf", leaf}, {"upper", upper}, {"cross", cross}, {"keys", keys}};
    for (const Group& g : groups) {
      if (upper_only && &g != &groups[1]) continue;
      if (&g == &groups[3] && !caps.pku && !caps.pks) continue;
      if (!full && &g == &groups[2] && size != am::PageSize::k4K) continue;
      run_space(t, g, full, total);
    }
    // EFER.NXE=0 (a CPU without NX runs every group that way already):
    // every leaf flag with WP, and each upper flag alone, XD included;
    // supervisor reads, writes and fetches.
    if (caps.nxe) {
      am::Space nx_leaf = base_space(size);
      nx_leaf.nxe = false;
      nx_leaf.implicit = false;
      nx_leaf.upper_single = false;
      am::Space nx_upper = base_space(size);
      nx_upper.nxe = false;
      nx_upper.implicit = false;
      nx_upper.leaf_bits = full ? am::leafbit::kAll : 0;
      const Group nx_groups[] = {{"NXE=0 leaf", nx_leaf}, {"NXE=0 upper", nx_upper}};
      for (const Group& g : nx_groups)
        if (!upper_only || &g == &nx_groups[1]) run_space(t, g, full, total);
    }
    drop_target(t);
  }
}

// ---- the 5-level pass ----
// CR4.LA57 can change only with paging off (SDM vol.3 §4.1.1; a MOV to CR4
// that changes it in IA-32e mode raises #GP), so the pass leaves long mode
// through the mode-switch trampoline (cpu/modeswitch.h), which loads a
// 5-level copy of every translation of the live table, runs the
// upper-level groups at 5 levels under a PML5 slot of their own (each
// flag of the PML5E among them), and comes back to a 4-level copy the
// same way, on copies of the live table (paging::copy_live).
bool switch_to(int levels) {
  paging::PageTable copy(paging::PageMemory{}, PhysAddr(0), levels);
  uint64_t leaves = 0;
  if (!paging::copy_live(levels, &copy, &leaves)) {
    report_fail("building a %d-level copy of the page tables", levels);
    return false;
  }
  modeswitch::change_paging(copy.root().value, levels == 5);
  const bool la57 = cpu::read_cr4() & cpu::cr4::LA57;
  report(paging::levels() == levels && la57 == (levels == 5),
         "switched to %d-level paging (CR4.LA57=%d, %lu leaves copied)", paging::levels(), la57,
         leaves);
  return paging::levels() == levels;
}

void five_level_pass(bool full, uint64_t* total) {
  ReportPrefix p("5-level");
  if (caps.levels == 5) {
    report_info("the firmware handed over with 5-level paging: every group above ran at 5 levels");
    return;
  }
  if (!cpu::has(cpu::feature::kLa57)) {
    report_skip("upper-level combinations at 5 levels: %s is clear", cpu::feature::kLa57.name);
    return;
  }
  if (const char* why = modeswitch::unavailable()) {
    report_skip("upper-level combinations at 5 levels: the mode-switch trampoline: %s", why);
    return;
  }
  modeswitch::init();
  restore_controls();
  if (!switch_to(5)) return;
  // The controls are applied relative to CR4 as it is now, LA57 included.
  const Saved four = saved;
  saved.cr0 = cpu::read_cr0();
  saved.cr4 = cpu::read_cr4();
  caps.levels = 5;
  uint64_t* top[5];
  if (paging::walk(VirtAddr(kBase5Level), top) != 0) {
    report_fail("the 5-level test slot 0x%lx is in use", kBase5Level);
  } else {
    run_sizes(kBase5Level, full, true, total);
  }
  restore_controls();
  caps.levels = 4;
  saved = four;
  (void)switch_to(4);
}

}  // namespace

int main(int argc, char** argv) {
  const bool full = argc > 1 && strcmp(argv[1], "full") == 0;
  if (argc > 1 && !full) report_abort("unknown argument '%s' (want none or 'full')", argv[1]);

  namespace f = cpu::feature;
  caps.smep = cpu::has(f::kSmep);
  caps.smap = cpu::has(f::kSmap);
  caps.pku = cpu::has(f::kPku);
  caps.pks = cpu::has(f::kPks);
  caps.page1g = cpu::has(f::kPage1gb);
  caps.nxe = cpu::rdmsr(cpu::kMsrEfer) & cpu::efer::NXE;
  caps.maxphyaddr = cpu::maxphyaddr();
  caps.levels = paging::levels();
  saved = {cpu::read_cr0(), cpu::read_cr4(), caps.pks ? cpu::rdmsr(cpu::kMsrPkrs) : 0, 0};
  pkrs_now = saved.pkrs;
  if (caps.pku) {
    cpu::write_cr4(saved.cr4 | cpu::cr4::PKE);
    saved.pkru = cpu::rdpkru();
    cpu::write_cr4(saved.cr4);
  }
  report_info("%d-level paging, MAXPHYADDR %u, EFER.NXE=%d", caps.levels, caps.maxphyaddr,
              caps.nxe);

  if (!caps.smep) report_skip("SMEP combinations: %s is clear", f::kSmep.name);
  if (!caps.smap) report_skip("SMAP and AC combinations: %s is clear", f::kSmap.name);
  if (!caps.pku) report_skip("PKE/PKRU combinations: %s is clear", f::kPku.name);
  if (!caps.pks) report_skip("PKS/IA32_PKRS combinations: %s is clear", f::kPks.name);
  if (!caps.nxe) report_skip("XD combinations with EFER.NXE=1: %s is clear", f::kNx.name);
  if (!rsvd_bit()) report_skip("reserved-bit combinations: MAXPHYADDR is 52");

  const uint64_t slot = caps.levels == 5 ? kBase5Level : kBase4Level;
  {
    uint64_t* top[5];
    if (paging::walk(VirtAddr(slot), top) != 0) report_abort("the test slot 0x%lx is in use", slot);
  }
  {
    // The CPL3 stub, in the next top-level slot.
    const uint64_t stub_slot = slot + (caps.levels == 5 ? 1ull << 48 : 1ull << 39);
    uint64_t* top[5];
    if (paging::walk(VirtAddr(stub_slot), top) != 0)
      report_abort("the stub slot 0x%lx is in use", stub_slot);
    const mem::PageResult sp = mem::alloc_pages(1);
    if (!sp.ok()) report_abort("no stub page: %s", mem::alloc_error_str(sp.error));
    memset(reinterpret_cast<void*>(sp.pa.value), 0xcc, kPageSize);
    memcpy(reinterpret_cast<void*>(sp.pa.value), kStub, sizeof kStub);
    if (paging::MapStatus st = paging::map(VirtAddr(stub_slot), sp.pa, kPageSize,
                                           paging::Attr{.write = false, .user = true, .nx = false});
        st != paging::MapStatus::ok)
      report_abort("mapping the CPL3 stub: %s", paging::map_status_str(st));
    stub_va = stub_slot;
  }
  if (caps.nxe) {
    // The EFER.NXE=0 window, in the slot after the stub's.
    const uint64_t win_slot = slot + (caps.levels == 5 ? 2ull << 48 : 2ull << 39);
    uint64_t* top[5];
    if (paging::walk(VirtAddr(win_slot), top) != 0)
      report_abort("the window slot 0x%lx is in use", win_slot);
    const mem::PageResult wp = mem::alloc_pages(1);
    if (!wp.ok()) report_abort("no window page: %s", mem::alloc_error_str(wp.error));
    if (paging::MapStatus st = paging::map(VirtAddr(win_slot), wp.pa, kPageSize,
                                           paging::Attr{.write = true, .nx = false});
        st != paging::MapStatus::ok)
      report_abort("mapping the NXE=0 window: %s", paging::map_status_str(st));
    window = reinterpret_cast<uint8_t*>(win_slot);
    memset(window, 0, kPageSize);
    prepare_window();
  }
  mem::PageResult fr = mem::alloc_pages(1);
  if (!fr.ok()) report_abort("no test frame: %s", mem::alloc_error_str(fr.error));
  test_frame = fr.pa;
  auto* frame = reinterpret_cast<uint8_t*>(test_frame.value);
  memset(frame, 0, kPageSize);
  frame[0] = kRet;
  const uint64_t ldt_desc = desc::kDescFlatData | desc::kDescDpl3;
  memcpy(frame + kLdtOffset, &ldt_desc, sizeof ldt_desc);
  asm volatile("sldt %0" : "=r"(saved_ldtr));
  const uint64_t saved_slots[2] = {desc::test_descriptor(kLdtSlot),
                                   desc::test_descriptor(kLdtSlot + 1)};

  uint64_t total = 0;
  const uint64_t start = now_ms();
  run_sizes(slot, full, false, &total);
  five_level_pass(full, &total);
  restore_controls();
  desc::set_test_descriptor(kLdtSlot, saved_slots[0]);
  desc::set_test_descriptor(kLdtSlot + 1, saved_slots[1]);
  report_info("%lu combinations in %lu ms", total, now_ms() - start);
  return report_summary();
}
