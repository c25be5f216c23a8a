// svm: nested SVM, with this test as the L1 hypervisor (lib/svm) and small
// L2 functions and snippets as its guests. It checks what AMD APM vol.2
// ch.15 defines: VMRUN and #VMEXIT and the state they load and save
// (§15.5, §15.6); the intercepts of instructions, I/O through the IOPM and
// MSRs through the MSRPM with their EXITINFO encodings (§15.8-§15.13,
// appendix C); next_rip with NRIPS (§15.7.1); event injection (§15.20);
// virtual interrupts, V_TPR and VGIF (§15.21, §15.33); VMLOAD/VMSAVE
// (§15.5.2); the TSC offset (§15.30.5); the VMRUN consistency checks
// (§15.5.1), each of which must end in VMEXIT_INVALID; and L2 in 32-bit
// PAE and legacy paging modes. Checks are named as in a table, so one can
// run alone: `-append 'name ...'`. Every VMRUN is bounded by the library's
// APIC-timer watchdog, so an L2 that never exits is a FAIL, not a hang. A
// feature CPUID 8000_000AH does not enumerate is a SKIP naming its bit; on
// a CPU without SVM the whole test SKIPs, and so it does in a SEV or TDX
// guest, where nested SVM is out of scope. Where QEMU's TCG is known to
// differ from the APM the check is an XFAIL that says how.
#include <cstdint>

#include "apic/apic.h"
#include "cpu/desc.h"
#include "cpu/exceptions.h"
#include "mem/paging.h"
#include "cpu/processor.h"
#include "mem/memory.h"
#include "rt/expect.h"
#include "rt/format.h"
#include "rt/report.h"
#include "rt/string.h"
#include "svm/svm.h"

extern "C" char svm_l2_entry[];

namespace {

using svm::ExitCode;
using svm::Guest;
namespace icpt = svm::intercept;
namespace feature = cpu::feature;


L2_SNIPPET(l2_vmmcall, "");
L2_SNIPPET(l2_not_gprs, "not %rbx; not %rcx; not %rdx; not %rsi; not %rdi; not %rbp; "
                        "not %r8; not %r9; not %r10; not %r11; not %r12; not %r13; "
                        "not %r14; not %r15; not %rax");
L2_SNIPPET(l2_cpuid, "cpuid");
L2_SNIPPET(l2_hlt, "hlt");
L2_SNIPPET(l2_invlpg, "invlpg (%rax)");
L2_SNIPPET(l2_rdtsc, "rdtsc");
L2_SNIPPET(l2_rdtscp, "rdtscp");
L2_SNIPPET(l2_pause, "pause");
L2_SNIPPET(l2_inb_dx, "inb %dx, %al");
L2_SNIPPET(l2_inw_dx, "inw %dx, %ax");
L2_SNIPPET(l2_outb_80, "outb %al, $0x80");
L2_SNIPPET(l2_rdmsr, "rdmsr");
L2_SNIPPET(l2_wrmsr, "wrmsr");
L2_SNIPPET(l2_read_cr0, "mov %cr0, %rbx");
L2_SNIPPET(l2_read_cr3, "mov %cr3, %rbx");
L2_SNIPPET(l2_read_cr4, "mov %cr4, %rbx");
L2_SNIPPET(l2_read_cr8, "mov %cr8, %rbx");
L2_SNIPPET(l2_write_cr0, "mov %rbx, %cr0");
L2_SNIPPET(l2_write_cr3, "mov %rbx, %cr3");
L2_SNIPPET(l2_write_cr4, "mov %rbx, %cr4");
L2_SNIPPET(l2_write_cr8, "mov %rbx, %cr8");
L2_SNIPPET(l2_read_dr7, "mov %dr7, %rbx");
L2_SNIPPET(l2_write_dr0, "mov %rbx, %dr0");
L2_SNIPPET(l2_ud2, "ud2");
L2_SNIPPET(l2_int3, "int3");
L2_SNIPPET(l2_load_rbx, "mov (%rbx), %rax");
L2_SNIPPET(l2_triple_fault, "lidt (%rbx); ud2");
L2_SNIPPET(l2_sti_loop, "sti; 2: jmp 2b");
L2_SNIPPET(l2_sti_nop, "sti; nop; nop; cli");
L2_SNIPPET(l2_clgi, "clgi");
L2_SNIPPET(l2_stgi, "stgi");
L2_SNIPPET(l2_loop, "2: jmp 2b");
L2_SNIPPET(l2_read_tsc_lstar,
           "rdtsc; shl $32, %rdx; or %rax, %rdx; mov %rdx, %r12; "
           "mov $0xc0000082, %ecx; rdmsr; shl $32, %rdx; or %rax, %rdx; mov %rdx, %r13; "
           "mov $0xc0000082, %ecx; mov $0x5a5a, %eax; xor %edx, %edx; wrmsr");

// 32-bit snippets for the guest-mode checks: they run below 4 GiB with
// CS.L clear, so they are assembled as 32-bit code.
extern "C" char l2_code32[], l2_code32_next[];
asm(".pushsection .text\n\t.globl l2_code32, l2_code32_next\n\t.hidden l2_code32, l2_code32_next\n"
    ".code32\nl2_code32:\n\tmov %cr0, %ebx\n\tmov $0x32, %eax\n"
    "l2_code32_next:\n1:\tvmmcall\n\tjmp 1b\n.code64\n\t.popsection");

uint64_t addr(const void* p) { return reinterpret_cast<uint64_t>(p); }

// A fresh L2 for one check; the check aborts when memory ran out, since
// the framework, not the CPU, failed then.
struct L2 {
  Guest g;
  L2() {
    if (!g.init()) report_abort("out of memory for an L2");
  }
  Guest* operator->() { return &g; }
};

void nothing(void*) {}

// ---------------------------------------------------------------- basics

void test_vmmcall() {
  L2 l2;
  l2->enter(nothing);
  svm::Exit e = l2->run();
  if (!svm::report_exit(e, ExitCode::vmmcall, "VMMCALL after an empty L2 function")) return;
  // svm_l2_entry is "call *%rsi" (2 bytes), then VMMCALL.
  report(l2->save().rip == addr(svm_l2_entry) + 2, "RIP at the VMMCALL (0x%lx, want 0x%lx)",
         l2->save().rip, addr(svm_l2_entry) + 2);
  report(l2->save().rsp == l2->stack_top(), "RSP back at the stack top after the return");
  report(l2->save().cpl == 0 && (l2->save().efer & cpu::efer::SVME),
         "CPL 0 and EFER.SVME in the saved state (CPL %u, EFER 0x%lx)", l2->save().cpl,
         l2->save().efer);
  e = l2->run();
  report(e.code == ExitCode::vmmcall && !e.l2_hung, "a second VMRUN of the same VMCB exits again");
}

void test_gprs() {
  L2 l2;
  l2->enter_at(l2_not_gprs);
  for (unsigned i = 0; i < kNumGprs; ++i) l2->regs.gpr[i] = 0x1111111111111111ull * (i + 1);
  l2->save().rax = 0x0123456789abcdefull;
  svm::Exit e = l2->run();
  if (!svm::report_exit(e, ExitCode::vmmcall, "L2 inverting every GPR")) return;
  unsigned bad = 0;
  for (unsigned i = 0; i < kNumGprs; ++i) {
    if (i == unsigned(Gpr::rax) || i == unsigned(Gpr::rsp)) continue;
    if (l2->regs.gpr[i] != ~(0x1111111111111111ull * (i + 1))) ++bad;
  }
  report(bad == 0, "GPRs loaded into L2 and saved back (%u wrong)", bad);
  report(l2->save().rax == ~0x0123456789abcdefull, "RAX through the VMCB (0x%lx)",
         l2->save().rax);
}

void test_host_state() {
  L2 l2;
  const uint64_t lstar = cpu::rdmsr(cpu::kMsrLstar);
  const uint64_t gs = cpu::rdmsr(cpu::kMsrGsBase);
  const uint64_t cr3 = cpu::read_cr3(), cr4 = cpu::read_cr4();
  l2->save().lstar = 0xffffffff81000000ull;
  l2->enter_at(l2_read_tsc_lstar);
  svm::Exit e = l2->run();
  if (!svm::report_exit(e, ExitCode::vmmcall, "L2 reading and writing LSTAR")) return;
  report(l2->regs[Gpr::r13] == 0xffffffff81000000ull, "L2 ran with its VMCB's LSTAR (0x%lx)",
         l2->regs[Gpr::r13]);
  report(l2->save().lstar == 0x5a5a, "VMSAVE after the exit stored L2's LSTAR (0x%lx)",
         l2->save().lstar);
  report(cpu::rdmsr(cpu::kMsrLstar) == lstar && cpu::rdmsr(cpu::kMsrGsBase) == gs,
         "L1's LSTAR and GS base are back");
  report(cpu::read_cr3() == cr3 && cpu::read_cr4() == cr4, "L1's CR3 and CR4 are back");
}

// ----------------------------------------------------------- intercepts

// Runs `snip` with `bits` set in intercept vector 3 (misc1) or 4 (misc2),
// checks the exit and that RIP points at the instruction.
bool expect_insn_exit(Guest& g, const char* snip, uint32_t misc1, uint32_t misc2, ExitCode want,
                      const char* what) {
  g.enter_at(snip);
  g.control().intercept_misc1 |= misc1;
  g.control().intercept_misc2 |= misc2;
  svm::Exit e = g.run();
  if (!svm::report_exit(e, want, what)) return false;
  if (g.save().rip != addr(snip)) {
    report_fail("%s: RIP 0x%lx is not the instruction's 0x%lx", what, g.save().rip, addr(snip));
    return false;
  }
  return true;
}

void test_cpuid() {
  L2 l2;
  l2->regs[Gpr::rcx] = 0;
  l2->save().rax = 0;
  expect_insn_exit(l2.g, l2_cpuid, icpt::kCpuid, 0, ExitCode::cpuid, "CPUID intercepted");
  L2 free;
  free->enter_at(l2_cpuid);
  free->save().rax = 0;
  svm::Exit e = free->run();
  if (svm::report_exit(e, ExitCode::vmmcall, "CPUID not intercepted runs in L2"))
    report(free->regs[Gpr::rbx] == cpu::cpuid(0).ebx, "L2's CPUID leaf 0 as L1's (EBX 0x%lx)",
           free->regs[Gpr::rbx]);
}

void test_hlt() {
  L2 l2;
  expect_insn_exit(l2.g, l2_hlt, icpt::kHlt, 0, ExitCode::hlt, "HLT intercepted");
}

void test_invlpg() {
  L2 l2;
  static uint64_t target;
  l2->save().rax = addr(&target);
  if (!expect_insn_exit(l2.g, l2_invlpg, icpt::kInvlpg, 0, ExitCode::invlpg, "INVLPG intercepted"))
    return;
  if (!cpu::has(feature::kSvmDecodeAssists)) {
    report_skip("INVLPG EXITINFO1: %s is clear", feature::kSvmDecodeAssists.name);
    return;
  }
  report(l2->control().exit_info_1 == addr(&target), "INVLPG EXITINFO1 is the address (0x%lx)",
         l2->control().exit_info_1);
}

void test_rdtsc() {
  {
    L2 l2;
    expect_insn_exit(l2.g, l2_rdtsc, icpt::kRdtsc, 0, ExitCode::rdtsc, "RDTSC intercepted");
  }
  if (!cpu::has(feature::kRdtscp)) {
    report_skip("RDTSCP: %s is clear", feature::kRdtscp.name);
    return;
  }
  // RDTSCP has its own intercept, vector 4 bit 7 (APM table B-1); the
  // RDTSC intercept does not cover it.
  const char* why = "RDTSCP ignores the RDTSCP intercept and is checked against the RDTSC "
                    "intercept instead (exit RDTSC)";
  {
    L2 l2;
    l2->enter_at(l2_rdtscp);
    l2->control().intercept_misc2 |= icpt::kRdtscp;
    svm::Exit e = l2->run();
    report_xfail(!e.l2_hung && e.code == ExitCode::vmmcall && known_tcg_difference(why),
                 !e.l2_hung && e.code == ExitCode::rdtscp && l2->save().rip == addr(l2_rdtscp),
                 "RDTSCP intercepted: exit %s (expected RDTSCP)", e.name());
  }
  {
    L2 l2;
    l2->enter_at(l2_rdtscp);
    l2->control().intercept_misc1 |= icpt::kRdtsc;
    svm::Exit e = l2->run();
    report_xfail(!e.l2_hung && e.code == ExitCode::rdtsc && known_tcg_difference(why),
                 !e.l2_hung && e.code == ExitCode::vmmcall,
                 "RDTSCP with only the RDTSC intercept runs in L2: exit %s (expected VMMCALL)",
                 e.name());
  }
}

void test_pause() {
  L2 l2;
  expect_insn_exit(l2.g, l2_pause, icpt::kPause, 0, ExitCode::pause, "PAUSE intercepted");
}

// The APM's IOIO EXITINFO1 for a non-string IN/OUT from 64-bit code: the
// port, the size bit, the address-size bit of the instruction (A64 here),
// TYPE for IN (§15.10.2, figure 15-2).
void test_ioio() {
  char buf[64], want_buf[64];
  constexpr uint16_t kPort = 0x87;  // a DMA page register: harmless to read
  // An access whose bytes straddle two IOPM bytes: port 0x87 is bit 7 of
  // byte 0x10, port 0x88 bit 0 of byte 0x11.
  {
    L2 l2;
    l2->intercept_all_io(false);
    svm::iopm_set(l2->iopm(), kPort + 1, true);
    l2->regs[Gpr::rdx] = kPort;
    l2->enter_at(l2_inb_dx);
    svm::Exit e = l2->run();
    report(e.code == ExitCode::vmmcall && !e.l2_hung,
           "1-byte IN at 0x87 with only 0x88 intercepted is not intercepted (%s)", e.name());
    l2->enter_at(l2_inw_dx);
    e = l2->run();
    if (svm::report_exit(e, ExitCode::ioio, "2-byte IN at 0x87 straddling into intercepted 0x88")) {
      const uint64_t want = svm::ioio::kIn | svm::ioio::kSz16 | svm::ioio::kA64 |
                            uint64_t(kPort) << svm::ioio::kPortShift;
      const bool addr_size_missing = (e.info1 & (svm::ioio::kA16 | svm::ioio::kA32 |
                                                 svm::ioio::kA64)) == 0;
      report_xfail(addr_size_missing &&
                       known_tcg_difference("IOIO EXITINFO1 leaves the address-size bits "
                                            "A16/A32/A64 (bits 9:7) clear"),
                   e.info1 == want, "EXITINFO1 %s (expected %s)",
                   svm::ioio::info1_str(e.info1, buf, sizeof(buf)),
                   svm::ioio::info1_str(want, want_buf, sizeof(want_buf)));
      report(e.info2 == addr(l2_inw_dx_next), "EXITINFO2 is the next RIP (0x%lx)", e.info2);
      report((e.info1 & (svm::ioio::kIn | svm::ioio::kStr | svm::ioio::kRep)) == svm::ioio::kIn,
             "EXITINFO1 TYPE says IN, no STR/REP (0x%lx)", e.info1 & 0xf);
    }
  }
  {
    L2 l2;
    l2->intercept_all_io(false);
    svm::iopm_set(l2->iopm(), 0x80, true);
    l2->enter_at(l2_outb_80);
    svm::Exit e = l2->run();
    if (svm::report_exit(e, ExitCode::ioio, "OUT imm8 to intercepted port 0x80")) {
      report(svm::ioio::port(e.info1) == 0x80 && !(e.info1 & svm::ioio::kIn) &&
                 (e.info1 & svm::ioio::kSz8),
             "EXITINFO1 port 0x80, OUT, 8-bit (%s)", svm::ioio::info1_str(e.info1, buf, sizeof(buf)));
    }
  }
}

void test_msr() {
  constexpr uint32_t kMsr = cpu::kMsrKernelGsBase;
  {
    L2 l2;
    l2->intercept_all_msrs(false);
    svm::msrpm_set(l2->msrpm(), kMsr, true, false);
    l2->regs[Gpr::rcx] = kMsr;
    if (expect_insn_exit(l2.g, l2_rdmsr, 0, 0, ExitCode::msr, "RDMSR with the read bit set"))
      report(l2->control().exit_info_1 == svm::msr_exit::kRead, "EXITINFO1 0 for RDMSR (%lu)",
             l2->control().exit_info_1);
    l2->enter_at(l2_wrmsr);
    l2->save().rax = 0;
    l2->regs[Gpr::rdx] = 0;
    svm::Exit e = l2->run();
    report(e.code == ExitCode::vmmcall && !e.l2_hung,
           "WRMSR with only the read bit set is not intercepted (%s)", e.name());
  }
  {
    L2 l2;
    l2->intercept_all_msrs(false);
    svm::msrpm_set(l2->msrpm(), kMsr, false, true);
    l2->regs[Gpr::rcx] = kMsr;
    if (expect_insn_exit(l2.g, l2_wrmsr, 0, 0, ExitCode::msr, "WRMSR with the write bit set"))
      report(l2->control().exit_info_1 == svm::msr_exit::kWrite, "EXITINFO1 1 for WRMSR (%lu)",
             l2->control().exit_info_1);
  }
  {
    // MSRs outside the map's three ranges are always intercepted (§15.11).
    L2 l2;
    l2->intercept_all_msrs(false);
    l2->regs[Gpr::rcx] = 0xc0002000;
    expect_insn_exit(l2.g, l2_rdmsr, 0, 0, ExitCode::msr, "RDMSR of 0xc0002000, outside the MSRPM");
  }
}

void test_cr() {
  struct Case {
    const char* name;
    const char* snip;
    bool write;
    unsigned cr;
  };
  const Case cases[] = {
      {"read CR0", l2_read_cr0, false, 0},  {"read CR3", l2_read_cr3, false, 3},
      {"read CR4", l2_read_cr4, false, 4},  {"read CR8", l2_read_cr8, false, 8},
      {"write CR0", l2_write_cr0, true, 0}, {"write CR3", l2_write_cr3, true, 3},
      {"write CR4", l2_write_cr4, true, 4}, {"write CR8", l2_write_cr8, true, 8},
  };
  const uint64_t values[9] = {cpu::read_cr0(), 0, 0, cpu::read_cr3(), cpu::read_cr4(),
                              0, 0, 0, 0};
  for (const Case& c : cases) {
    L2 l2;
    if (c.write)
      l2->control().intercept_cr_write = static_cast<uint16_t>(1u << c.cr);
    else
      l2->control().intercept_cr_read = static_cast<uint16_t>(1u << c.cr);
    l2->regs[Gpr::rbx] = values[c.cr];
    if (!expect_insn_exit(l2.g, c.snip, 0, 0, c.write ? svm::write_cr(c.cr) : svm::read_cr(c.cr),
                          c.name))
      continue;
    if (cpu::has(feature::kSvmDecodeAssists)) {
      const uint64_t want = 1ull << 63 | unsigned(Gpr::rbx);
      report(l2->control().exit_info_1 == want,
             "%s: EXITINFO1 names RBX with bit 63 (0x%lx)", c.name, l2->control().exit_info_1);
    }
  }
  if (!cpu::has(feature::kSvmDecodeAssists))
    report_skip("CR EXITINFO1 GPR numbers: %s is clear", feature::kSvmDecodeAssists.name);
}

// The selective CR0 write intercept (§15.9.1) fires only for writes that
// change bits other than CR0.TS and CR0.MP.
void test_cr0_selective() {
  const uint64_t cr0 = cpu::read_cr0();
  {
    L2 l2;
    l2->control().intercept_misc1 |= icpt::kCr0SelWrite;
    l2->regs[Gpr::rbx] = cr0 ^ cpu::cr0::TS;
    l2->enter_at(l2_write_cr0);
    svm::Exit e = l2->run();
    report(e.code == ExitCode::vmmcall && !e.l2_hung,
           "CR0 write toggling only TS is not intercepted (%s)", e.name());
  }
  L2 l2;
  l2->regs[Gpr::rbx] = cr0 | cpu::cr0::CD;
  expect_insn_exit(l2.g, l2_write_cr0, icpt::kCr0SelWrite, 0, ExitCode::cr0_sel_write,
                   "CR0 write setting CD");
}

void test_dr() {
  {
    L2 l2;
    l2->control().intercept_dr_read = 1u << 7;
    expect_insn_exit(l2.g, l2_read_dr7, 0, 0, svm::read_dr(7), "read DR7");
  }
  L2 l2;
  l2->control().intercept_dr_write = 1u << 0;
  l2->regs[Gpr::rbx] = 0;
  expect_insn_exit(l2.g, l2_write_dr0, 0, 0, svm::write_dr(0), "write DR0");
}

void test_exceptions() {
  {
    L2 l2;
    l2->control().intercept_exceptions = 1u << unsigned(Vec::UD);
    expect_insn_exit(l2.g, l2_ud2, 0, 0, svm::exception(6), "#UD from UD2");
  }
  {
    // INT3 raises #BP, which the exception intercept for vector 3 catches
    // (APM §15.12; the INTn intercept is for INT n only). If it is not
    // intercepted the recording IDT takes it in L2.
    svm::RecordingIdt idt;
    if (!idt.init()) report_abort("out of memory");
    L2 l2;
    idt.install(l2.g);
    svm::RecordingIdt::clear();
    l2->control().intercept_exceptions = 1u << unsigned(Vec::BP);
    l2->enter_at(l2_int3);
    svm::Exit e = l2->run();
    report_xfail(!e.l2_hung && e.code == ExitCode::vmmcall && svm::RecordingIdt::vector() == 3 &&
                     known_tcg_difference("INT3 is checked against the INTn (SWINT) intercept, "
                                          "not the #BP exception intercept"),
                 !e.l2_hung && e.code == svm::exception(3),
                 "#BP from INT3: exit %s (expected EXCP vector 3)", e.name());
  }
  {
    // #PF: a page unmapped in L1's (shared) page table.
    mem::PageResult pg = mem::alloc_pages(1);
    if (!pg.ok()) report_abort("out of memory");
    const VirtAddr va(pg.pa.value);
    {
      paging::SavedRange saved(va, kPageSize);
      if (!saved.ok() || paging::unmap(va, kPageSize) != paging::MapStatus::ok)
        report_abort("cannot unmap a page");
      L2 l2;
      l2->control().intercept_exceptions = 1u << unsigned(Vec::PF);
      l2->regs[Gpr::rbx] = va.value;
      if (expect_insn_exit(l2.g, l2_load_rbx, 0, 0, svm::exception(14),
                           "#PF from a load of an unmapped page")) {
        report(l2->control().exit_info_1 == 0, "#PF EXITINFO1 is the error code 0 (0x%lx)",
               l2->control().exit_info_1);
        report(l2->control().exit_info_2 == va.value, "#PF EXITINFO2 is the address (0x%lx)",
               l2->control().exit_info_2);
      }
    }
    (void)mem::free_pages(pg.pa, 1);
  }
}

volatile unsigned irq_count, nmi_count;
constexpr uint8_t kTestVector = 0xd0;

void l2_self_ipi(void*) { apic::send_self(kTestVector); for (int i = 0; i < 1000; ++i) cpu::pause(); }
void l2_self_nmi(void*) { apic::send_nmi(apic::id()); for (int i = 0; i < 1000; ++i) cpu::pause(); }

void test_intr() {
  ScopedHandler h(kTestVector, [](ExceptionFrame*) {
    irq_count = irq_count + 1;
    apic::eoi();
    return true;
  });
  irq_count = 0;
  L2 l2;
  l2->enter(l2_self_ipi);
  svm::Exit e = l2->run();
  if (svm::report_exit(e, ExitCode::intr, "a self-IPI in L2 exits with INTR"))
    report(irq_count == 1, "L1 took the interrupt after the exit (%u times)", irq_count);
}

void test_nmi() {
  ScopedHandler h(unsigned(Vec::NMI), [](ExceptionFrame*) {
    nmi_count = nmi_count + 1;
    return true;
  });
  nmi_count = 0;
  L2 l2;
  l2->control().intercept_misc1 |= icpt::kNmi;
  l2->enter(l2_self_nmi);
  svm::Exit e = l2->run();
  if (svm::report_exit(e, ExitCode::nmi, "a self-NMI in L2 exits with NMI"))
    report(nmi_count == 1, "L1 took the NMI once GIF was set (%u times)", nmi_count);
}

void test_shutdown() {
  L2 l2;
  static const desc::DescriptorPointer empty_idt{0, 0};
  l2->regs[Gpr::rbx] = addr(&empty_idt);
  svm::Exit e = [&] {
    l2->enter_at(l2_triple_fault);
    return l2->run();
  }();
  svm::report_exit(e, ExitCode::shutdown, "an L2 triple fault (UD2 with an empty IDT)");
}

// ----------------------------------------------------------------- NRIPS

void test_nrips() {
  struct Case {
    const char* name;
    const char* snip;
    const char* next;
    uint32_t misc1, misc2;
    ExitCode code;
  };
  const Case cases[] = {
      {"CPUID", l2_cpuid, l2_cpuid_next, icpt::kCpuid, 0, ExitCode::cpuid},
      {"RDTSC", l2_rdtsc, l2_rdtsc_next, icpt::kRdtsc, 0, ExitCode::rdtsc},
      {"HLT", l2_hlt, l2_hlt_next, icpt::kHlt, 0, ExitCode::hlt},
      {"RDMSR", l2_rdmsr, l2_rdmsr_next, 0, 0, ExitCode::msr},
  };
  for (const Case& c : cases) {
    L2 l2;
    l2->regs[Gpr::rcx] = cpu::kMsrLstar;
    if (c.code == ExitCode::msr) l2->intercept_all_msrs(true);
    if (!expect_insn_exit(l2.g, c.snip, c.misc1, c.misc2, c.code, c.name)) continue;
    report(l2->control().next_rip == addr(c.next), "%s: next_rip 0x%lx (want 0x%lx)", c.name,
           l2->control().next_rip, addr(c.next));
    l2->save().rip = l2->control().next_rip;
    svm::Exit e = l2->run();
    report(e.code == ExitCode::vmmcall && !e.l2_hung, "%s: L2 resumes at next_rip (%s)", c.name,
           e.name());
  }
}

// ------------------------------------------------------- event injection

struct Injected {
  bool delivered;
  uint64_t vector, f0, f1;
};

Injected inject(Guest& g, svm::RecordingIdt& idt, uint64_t event) {
  idt.install(g);
  g.enter_at(l2_vmmcall);
  g.control().event_inj = event;
  svm::RecordingIdt::clear();
  svm::Exit e = g.run();
  if (e.l2_hung || e.code != ExitCode::vmmcall) return {false, 0, 0, 0};
  return {svm::RecordingIdt::delivered(), svm::RecordingIdt::vector(),
          svm::RecordingIdt::frame(0), svm::RecordingIdt::frame(1)};
}

void test_eventinj() {
  namespace ev = svm::event;
  svm::RecordingIdt idt;
  if (!idt.init()) report_abort("out of memory");
  const uint64_t rip = addr(l2_vmmcall);
  {
    L2 l2;
    Injected r = inject(l2.g, idt, ev::make(ev::Type::intr, 0x80));
    report(r.delivered && r.vector == 0x80 && r.f0 == rip,
           "INTR 0x80: delivered, no error code (vector 0x%lx, frame[0] 0x%lx)", r.vector, r.f0);
  }
  {
    L2 l2;
    Injected r = inject(l2.g, idt, ev::make(ev::Type::nmi, 2));
    report(r.delivered && r.vector == 2 && r.f0 == rip,
           "NMI: delivered through vector 2, no error code (vector 0x%lx)", r.vector);
  }
  {
    L2 l2;
    Injected r = inject(l2.g, idt, ev::make(ev::Type::exception, 6));
    report(r.delivered && r.vector == 6 && r.f0 == rip,
           "exception #UD without EV: no error code (frame[0] 0x%lx)", r.f0);
  }
  {
    L2 l2;
    Injected r = inject(l2.g, idt, ev::make(ev::Type::exception, 13, 0x1234));
    report(r.delivered && r.vector == 13 && r.f0 == 0x1234 && r.f1 == rip,
           "exception #GP with EV: error code 0x%lx pushed, then RIP", r.f0);
  }
  {
    // EV decides whether an error code is pushed, not the vector (§15.20).
    L2 l2;
    Injected r = inject(l2.g, idt, ev::make(ev::Type::exception, 0, 0x55));
    report_xfail(r.delivered && r.f0 == rip &&
                     known_tcg_difference("EVENTINJ pushes an error code by the vector's "
                                          "architectural rule and ignores EV"),
                 r.delivered && r.vector == 0 && r.f0 == 0x55 && r.f1 == rip,
                 "exception #DE with EV: error code pushed (frame[0] 0x%lx)", r.f0);
  }
  {
    L2 l2;
    Injected r = inject(l2.g, idt, ev::make(ev::Type::exception, 13));
    report_xfail(r.delivered && r.f1 == rip &&
                     known_tcg_difference("EVENTINJ pushes an error code by the vector's "
                                          "architectural rule and ignores EV"),
                 r.delivered && r.vector == 13 && r.f0 == rip,
                 "exception #GP without EV: no error code (frame[0] 0x%lx)", r.f0);
  }
  {
    L2 l2;
    Injected r = inject(l2.g, idt, ev::make(ev::Type::soft_int, 0x40));
    // frame[1] is CS when no error code was pushed.
    report(r.delivered && r.vector == 0x40 && r.f1 == l2->save().cs.selector,
           "software interrupt 0x40: delivered, no error code (frame[1] 0x%lx)", r.f1);
  }
  {
    L2 l2;
    l2->save().cr2 = 0xdead000;
    Injected r = inject(l2.g, idt, ev::make(ev::Type::exception, 14, 0x2));
    report(r.delivered && r.vector == 14 && r.f0 == 0x2 && l2->save().cr2 == 0xdead000,
           "#PF with EV 0x2: error code pushed, CR2 from the VMCB kept (0x%lx)",
           l2->save().cr2);
  }
  {
    L2 l2;
    l2->enter_at(l2_vmmcall);
    l2->control().event_inj = 0;
    svm::Exit e = l2->run();
    report(!e.l2_hung && !(e.int_info & ev::kValid), "EXITINTINFO.V clear after a plain exit");
  }
}

// ---------------------------------------------------- virtual interrupts

void test_virq() {
  namespace ic = svm::int_ctl;
  svm::RecordingIdt idt;
  if (!idt.init()) report_abort("out of memory");
  const uint64_t virq = ic::kVIntrMasking | ic::kVIrq | 0x51ull << ic::kVIntrVectorShift |
                        0xfull << ic::kVIntrPrioShift;
  {
    L2 l2;
    idt.install(l2.g);
    l2->control().int_ctl = virq;
    l2->enter_at(l2_sti_loop);
    svm::RecordingIdt::clear();
    svm::Exit e = l2->run();
    if (svm::report_exit(e, ExitCode::vmmcall, "V_IRQ with L2 RFLAGS.IF set"))
      report(svm::RecordingIdt::vector() == 0x51, "V_IRQ delivered vector 0x51 (0x%lx)",
             svm::RecordingIdt::vector());
    report(!(l2->control().int_ctl & ic::kVIrq), "V_IRQ cleared once taken (int_ctl 0x%lx)",
           l2->control().int_ctl);
  }
  {
    L2 l2;
    idt.install(l2.g);
    l2->control().int_ctl = virq;
    l2->control().intercept_misc1 |= icpt::kVintr;
    l2->enter_at(l2_sti_loop);
    svm::Exit e = l2->run();
    svm::report_exit(e, ExitCode::vintr, "V_IRQ with the VINTR intercept");
  }
  {
    // Priority 2 against V_TPR 5: held (§15.21.4).
    L2 l2;
    idt.install(l2.g);
    l2->control().int_ctl = (virq & ~ic::kVIntrPrioMask) | 2ull << ic::kVIntrPrioShift | 5;
    l2->enter_at(l2_sti_nop);
    svm::RecordingIdt::clear();
    svm::Exit e = l2->run();
    if (svm::report_exit(e, ExitCode::vmmcall, "V_IRQ of priority 2 under V_TPR 5"))
      report(!svm::RecordingIdt::delivered() && (l2->control().int_ctl & ic::kVIrq),
             "held: not delivered, V_IRQ still set");
  }
  {
    // With V_INTR_MASKING, CR8 is V_TPR; the physical TPR does not move.
    L2 l2;
    l2->regs[Gpr::rbx] = 7;
    l2->enter_at(l2_write_cr8);
    const uint32_t tpr = apic::read(apic::Reg::tpr);
    svm::Exit e = l2->run();
    if (svm::report_exit(e, ExitCode::vmmcall, "L2 writes CR8 = 7"))
      report((l2->control().int_ctl & ic::kVTprMask) == 7 && apic::read(apic::Reg::tpr) == tpr,
             "V_TPR 7, APIC TPR unchanged (int_ctl 0x%lx, TPR 0x%x)", l2->control().int_ctl,
             apic::read(apic::Reg::tpr));
    l2->control().int_ctl = (l2->control().int_ctl & ~ic::kVTprMask) | 9;
    l2->enter_at(l2_read_cr8);
    e = l2->run();
    if (svm::report_exit(e, ExitCode::vmmcall, "L2 reads CR8"))
      report(l2->regs[Gpr::rbx] == 9, "L2's CR8 reads V_TPR 9 (%lu)", l2->regs[Gpr::rbx]);
  }
}

void test_vgif() {
  if (!cpu::has(feature::kSvmVgif)) {
    report_skip("VGIF: %s is clear", feature::kSvmVgif.name);
    return;
  }
  namespace ic = svm::int_ctl;
  L2 l2;
  l2->control().int_ctl |= ic::kVGifEnable | ic::kVGif;
  l2->enter_at(l2_clgi);
  svm::Exit e = l2->run();
  if (svm::report_exit(e, ExitCode::vmmcall, "CLGI in L2 with VGIF, not intercepted"))
    report(!(l2->control().int_ctl & ic::kVGif), "CLGI cleared V_GIF (int_ctl 0x%lx)",
           l2->control().int_ctl);
  l2->enter_at(l2_stgi);
  e = l2->run();
  if (svm::report_exit(e, ExitCode::vmmcall, "STGI in L2 with VGIF"))
    report(l2->control().int_ctl & ic::kVGif, "STGI set V_GIF (int_ctl 0x%lx)",
           l2->control().int_ctl);
}

void test_gif() {
  {
    L2 l2;
    expect_insn_exit(l2.g, l2_clgi, 0, icpt::kClgi, ExitCode::clgi, "CLGI intercepted");
  }
  {
    L2 l2;
    expect_insn_exit(l2.g, l2_stgi, 0, icpt::kStgi, ExitCode::stgi, "STGI intercepted");
  }
  // In L1: with GIF clear an interrupt waits even with RFLAGS.IF set, and
  // is taken at STGI (§15.17).
  ScopedHandler h(kTestVector, [](ExceptionFrame*) {
    irq_count = irq_count + 1;
    apic::eoi();
    return true;
  });
  irq_count = 0;
  cpu::cli();
  svm::clgi();
  apic::send_self(kTestVector);
  asm volatile("sti; nop; nop; nop" ::: "memory");
  const unsigned with_gif_clear = irq_count;
  svm::stgi();
  asm volatile("nop; nop; cli" ::: "memory");
  report(with_gif_clear == 0 && irq_count == 1,
         "an interrupt waits for STGI with IF set (%u taken before STGI, %u after)",
         with_gif_clear, irq_count);
}

// ----------------------------------------------------------------- state

void test_vmload_vmsave() {
  mem::PageResult a = mem::alloc_pages(1), b = mem::alloc_pages(1);
  if (!a.ok() || !b.ok()) report_abort("out of memory");
  auto* mine = reinterpret_cast<svm::Vmcb*>(a.pa.value);
  auto* test = reinterpret_cast<svm::Vmcb*>(b.pa.value);
  memset(test, 0, sizeof(*test));
  struct Field {
    const char* name;
    uint64_t svm::VmcbSave::*field;
    uint32_t msr;
    uint64_t value;
  };
  const Field fields[] = {
      {"FS base", nullptr, cpu::kMsrFsBase, 0x1000f5},
      {"GS base", nullptr, cpu::kMsrGsBase, 0x10005},
      {"KernelGSBase", &svm::VmcbSave::kernel_gs_base, cpu::kMsrKernelGsBase, 0x2000},
      {"STAR", &svm::VmcbSave::star, cpu::kMsrStar, 0x0023001000000000ull},
      {"LSTAR", &svm::VmcbSave::lstar, cpu::kMsrLstar, 0xffffffff80001000ull},
      {"CSTAR", &svm::VmcbSave::cstar, cpu::kMsrCstar, 0xffffffff80002000ull},
      {"SFMASK", &svm::VmcbSave::sfmask, cpu::kMsrSfmask, 0x47700},
      {"SYSENTER_CS", &svm::VmcbSave::sysenter_cs, cpu::kMsrSysenterCs, 0x10},
      {"SYSENTER_ESP", &svm::VmcbSave::sysenter_esp, cpu::kMsrSysenterEsp, 0x3000},
      {"SYSENTER_EIP", &svm::VmcbSave::sysenter_eip, cpu::kMsrSysenterEip, 0x4000},
  };
  constexpr unsigned kN = sizeof(fields) / sizeof(fields[0]);
  for (const Field& f : fields) {
    if (f.field) test->save.*f.field = f.value;
  }
  test->save.fs.base = fields[0].value;
  test->save.gs.base = fields[1].value;
  test->save.tr = mine->save.tr;
  test->save.ldtr = {0, 0, 0, 0};
  uint64_t loaded[kN];
  // Nothing but inline instructions between the two VMLOADs: GS is the
  // test's own there.
  svm::vmsave(a.pa.value);
  svm::vmload(b.pa.value);
  for (unsigned i = 0; i < kN; ++i) loaded[i] = cpu::rdmsr(fields[i].msr);
  svm::vmload(a.pa.value);
  for (unsigned i = 0; i < kN; ++i)
    report(loaded[i] == fields[i].value, "VMLOAD loads %s (0x%lx, want 0x%lx)", fields[i].name,
           loaded[i], fields[i].value);
  // VMSAVE of that state stores it back.
  memset(test, 0, sizeof(*test));
  svm::vmsave(a.pa.value);
  for (unsigned i = 0; i < kN; ++i) cpu::wrmsr(fields[i].msr, fields[i].value);
  svm::vmsave(b.pa.value);
  svm::vmload(a.pa.value);
  unsigned bad = 0;
  for (unsigned i = 2; i < kN; ++i)
    if (test->save.*fields[i].field != fields[i].value) ++bad;
  report(bad == 0 && test->save.fs.base == fields[0].value && test->save.gs.base == fields[1].value,
         "VMSAVE stores FS/GS base and the eight MSRs (%u of %u MSRs wrong)", bad, kN - 2);
  report(test->save.tr.selector == mine->save.tr.selector &&
             test->save.ldtr.selector == mine->save.ldtr.selector,
         "VMSAVE stores TR 0x%x and LDTR 0x%x", test->save.tr.selector,
         test->save.ldtr.selector);
  (void)mem::free_pages(a.pa, 1);
  (void)mem::free_pages(b.pa, 1);
}

void test_tsc_offset() {
  L2 l2;
  constexpr uint64_t kOffset = 1ull << 50;
  l2->control().tsc_offset = kOffset;
  l2->save().lstar = 0;
  l2->enter_at(l2_read_tsc_lstar);
  const uint64_t before = cpu::rdtsc();
  svm::Exit e = l2->run();
  const uint64_t after = cpu::rdtsc();
  if (!svm::report_exit(e, ExitCode::vmmcall, "L2 reading the TSC")) return;
  const uint64_t t = l2->regs[Gpr::r12];
  report(t >= before + kOffset && t <= after + kOffset,
         "L2's TSC is L1's plus TSC_OFFSET (0x%lx in [0x%lx, 0x%lx])", t, before + kOffset,
         after + kOffset);
}

// -------------------------------------------------- invalid guest state

void test_invalid_state() {
  struct Case {
    const char* name;
    void (*apply)(Guest&);
  };
  const Case cases[] = {
      {"EFER.SVME clear", [](Guest& g) { g.save().efer &= ~cpu::efer::SVME; }},
      {"CR0.CD clear with CR0.NW set",
       [](Guest& g) { g.save().cr0 = (g.save().cr0 & ~cpu::cr0::CD) | cpu::cr0::NW; }},
      {"CR0[63:32] nonzero", [](Guest& g) { g.save().cr0 |= 1ull << 40; }},
      {"CR3 bit 52 (MBZ) set", [](Guest& g) { g.save().cr3 |= 1ull << 52; }},
      {"CR4 bit 63 (MBZ) set", [](Guest& g) { g.save().cr4 |= 1ull << 63; }},
      {"DR6[63:32] nonzero", [](Guest& g) { g.save().dr6 |= 1ull << 40; }},
      {"DR7[63:32] nonzero", [](Guest& g) { g.save().dr7 |= 1ull << 40; }},
      {"EFER bit 63 (MBZ) set", [](Guest& g) { g.save().efer |= 1ull << 63; }},
      {"EFER.LME and CR0.PG with CR4.PAE clear",
       [](Guest& g) { g.save().cr4 &= ~cpu::cr4::PAE; }},
      {"EFER.LME and CR0.PG with CR0.PE clear", [](Guest& g) { g.save().cr0 &= ~cpu::cr0::PE; }},
      {"EFER.LME, CR0.PG, CR4.PAE, CS.L and CS.D all set",
       [](Guest& g) { g.save().cs.attrib |= svm::seg_attr::kDb; }},
      {"VMRUN intercept clear",
       [](Guest& g) { g.control().intercept_misc2 &= ~icpt::kVmrun; }},
      {"ASID 0", [](Guest& g) { g.control().asid = 0; }},
      {"EVENTINJ of NMI as an exception (type 3, vector 2)",
       [](Guest& g) { g.control().event_inj = svm::event::make(svm::event::Type::exception, 2); }},
      {"EVENTINJ with reserved type 1",
       [](Guest& g) { g.control().event_inj = svm::event::kValid | 1u << 8 | 0x20; }},
  };
  // Each case asks whether the check fired; how the exit code is stored
  // is checked once, below.
  bool seen = false;
  uint64_t code = 0;
  for (const Case& c : cases) {
    L2 l2;
    l2->enter(nothing);
    c.apply(l2.g);
    svm::Exit e = l2->run();
    if (e.l2_hung) {
      report_fail("%s: L2 did not exit", c.name);
      continue;
    }
    const uint64_t raw = static_cast<uint64_t>(e.code);
    report(uint32_t(raw) == 0xffffffffu, "%s: VMRUN refused, exit code 0x%lx", c.name, raw);
    if (uint32_t(raw) == 0xffffffffu && !seen) {
      seen = true;
      code = raw;
    }
  }
  if (!seen) return;
  // EXITCODE is a 64-bit field and VMEXIT_INVALID is -1 (APM appendix C).
  report_xfail(code == 0xffffffffull &&
                   known_tcg_difference("VMEXIT_INVALID is stored as the 32-bit value "
                                        "0xffffffff, zero-extended, in the 64-bit EXITCODE"),
               code == static_cast<uint64_t>(ExitCode::invalid),
               "EXITCODE of a refused VMRUN is -1 in all 64 bits (0x%lx)", code);
}

// ------------------------------------------------------------ guest modes

// Identity page tables for the first 4 GiB in the two 32-bit modes: PAE
// (a 4-entry PDPT and 2 MiB pages) and legacy (one page directory of
// 4 MiB pages with CR4.PSE), AMD APM vol.2 §5.2-§5.3.
uint64_t build_pae_tables() {
  mem::PageResult r = mem::alloc_pages(5, kPageSize, 1ull << 32);
  if (!r.ok()) return 0;
  auto* pdpt = reinterpret_cast<uint64_t*>(r.pa.value);
  memset(pdpt, 0, 5 * kPageSize);
  for (unsigned i = 0; i < 4; ++i) {
    auto* pd = pdpt + 512 * (i + 1);
    pdpt[i] = addr(pd) | paging::pte::P;
    for (unsigned j = 0; j < 512; ++j)
      pd[j] = (uint64_t(i) << 30 | uint64_t(j) << 21) | paging::pte::P | paging::pte::RW |
              paging::pte::PS;
  }
  return r.pa.value;
}

uint64_t build_legacy_tables() {
  mem::PageResult r = mem::alloc_pages(1, kPageSize, 1ull << 32);
  if (!r.ok()) return 0;
  auto* pd = reinterpret_cast<uint32_t*>(r.pa.value);
  for (unsigned i = 0; i < 1024; ++i)
    pd[i] = (i << 22) | uint32_t(paging::pte::P | paging::pte::RW | paging::pte::PS);
  return r.pa.value;
}

void run_32bit(const char* mode, uint64_t cr3, bool pae) {
  if (addr(l2_code32) >> 32) {
    report_skip("%s L2: the image is above 4 GiB", mode);
    return;
  }
  L2 l2;
  svm::VmcbSave& s = l2->save();
  s.cs.attrib = static_cast<uint16_t>((s.cs.attrib & ~svm::seg_attr::kL) | svm::seg_attr::kDb);
  s.efer &= ~(cpu::efer::LME | cpu::efer::LMA);
  s.cr4 = (s.cr4 & ~(cpu::cr4::PAE | cpu::cr4::PSE | cpu::cr4::PCIDE | cpu::cr4::LA57)) |
          (pae ? cpu::cr4::PAE : cpu::cr4::PSE);
  s.cr3 = cr3;
  s.idtr.limit = 0;  // any fault becomes a SHUTDOWN exit, not a 64-bit gate misread
  l2->enter_at(l2_code32);
  s.rsp = l2->stack_top() & 0xffffffffu;
  svm::Exit e = l2->run();
  char what[64];
  rt::snprintf(what, sizeof(what), "%s L2 runs to VMMCALL", mode);
  if (!svm::report_exit(e, ExitCode::vmmcall, what)) return;
  report(s.rax == 0x32 && (l2->regs[Gpr::rbx] & cpu::cr0::PG) && !(s.efer & cpu::efer::LMA) &&
             ((s.cr4 & cpu::cr4::PAE) != 0) == pae,
         "%s L2 state: EAX 0x%lx, CR0.PG set, EFER.LMA clear, CR4 0x%lx", mode, s.rax, s.cr4);
}

void test_guest_modes() {
  const uint64_t pae = build_pae_tables(), legacy = build_legacy_tables();
  if (!pae || !legacy) report_abort("out of memory below 4 GiB");
  run_32bit("32-bit PAE", pae, true);
  run_32bit("legacy non-PAE", legacy, false);
}

// A looping L2 ends as "L2 did not exit" within its bound, a FAIL the
// negative image shows; here the bound itself is checked: it ends the run.
void test_watchdog() {
  L2 l2;
  l2->enter_at(l2_loop);
  svm::Exit e = l2->run(20);
  report(e.l2_hung && e.code == ExitCode::intr,
         "a looping L2 comes back after its 20 ms bound as an INTR exit (%s)", e.name());
}

struct Test {
  const char* name;
  void (*run)();
};
constexpr Test kTests[] = {
    {"vmmcall", test_vmmcall},
    {"gprs", test_gprs},
    {"host_state", test_host_state},
    {"cpuid", test_cpuid},
    {"hlt", test_hlt},
    {"invlpg", test_invlpg},
    {"rdtsc", test_rdtsc},
    {"pause", test_pause},
    {"ioio", test_ioio},
    {"msr", test_msr},
    {"cr", test_cr},
    {"cr0_selective", test_cr0_selective},
    {"dr", test_dr},
    {"exceptions", test_exceptions},
    {"intr", test_intr},
    {"nmi", test_nmi},
    {"shutdown", test_shutdown},
    {"nrips", test_nrips},
    {"eventinj", test_eventinj},
    {"virq", test_virq},
    {"vgif", test_vgif},
    {"gif", test_gif},
    {"vmload_vmsave", test_vmload_vmsave},
    {"tsc_offset", test_tsc_offset},
    {"invalid_state", test_invalid_state},
    {"guest_modes", test_guest_modes},
    {"watchdog", test_watchdog},
};

}  // namespace

int main(int argc, char** argv) {
  const svm::Status st = svm::enable();
  if (st != svm::Status::ok) {
    report_skip("nested SVM: %s", svm::status_str(st));
    return report_summary();
  }
  const svm::Info in = svm::info();
  report_info("SVM revision %u, %u ASIDs, CPUID 8000_000AH EDX 0x%x", in.revision, in.nasid,
              in.features);
  for (const Test& t : kTests) {
    if (!svm::selected(t.name, argc, argv)) continue;
    if (t.run == test_nrips && !cpu::has(feature::kSvmNrips)) {
      report_skip("nrips: %s is clear", feature::kSvmNrips.name);
      continue;
    }
    ReportPrefix p(t.name);
    t.run();
  }
  return report_summary();
}
