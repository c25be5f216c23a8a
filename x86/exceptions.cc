// exceptions: every architectural exception a plain guest can raise arrives
// at its own vector with the error code the SDM/APM specify, through our
// IDT, and execution resumes cleanly.
//
// Vectors that cannot be provoked here are SKIPped with the reason: #CP
// needs CET shadow stacks, #VC/#SX need SEV-ES/SVM hosts. #AC is raised from
// CPL3 through run_user (cpu/usermode.h).
// Software INT n to NMI, #MC and #VE checks their gates; INT n never pushes
// an error code, so vectors with one are only raised by real faults.
#include <cstdint>

#include "cpu/desc.h"
#include "cpu/exceptions.h"
#include "cpu/processor.h"
#include "cpu/regs.h"
#include "cpu/usermode.h"
#include "rt/expect.h"
#include "rt/report.h"

namespace {

constexpr uint64_t kNonCanonical = 0x8000000000000000ull;

void faults() {
  ReportPrefix p("fault");
  report_fault(catch_fault([] {
              volatile uint32_t zero = 0, one = 1;
              uint32_t q;
              asm volatile("xor %%edx, %%edx; divl %2" : "=a"(q) : "a"(one), "r"(zero) : "rdx");
              (void)q;
            }),
            ExInfo(Vec::DE), "divide by zero");
  report_fault(catch_fault([] {
              asm volatile("pushfq; orq %0, (%%rsp); popfq; nop" ::"i"(rflags::kTrap) : "memory", "cc");
            }),
            ExInfo(Vec::DB), "single step (RFLAGS.TF)");
  report(!(cpu::read_rflags() & rflags::kTrap), "TF does not leak out of the caught fault");
  report_fault_xfail(known_tcg_difference("INT1 (icebp) raises #UD instead of #DB"),
                   catch_fault([] { asm volatile(".byte 0xf1"); }), ExInfo(Vec::DB),
                   "INT1 (icebp)");
  report_fault(catch_fault([] { asm volatile("int3"); }), ExInfo(Vec::BP), "INT3");
  report_fault(catch_fault([] { asm volatile("int $4"); }), ExInfo(Vec::OF), "INT 4 (#OF gate)");
  report_fault(catch_fault([] { asm volatile(".byte 0xce"); }), ExInfo(Vec::UD),
            "INTO is invalid in 64-bit mode");
  report_fault(catch_fault([] { asm volatile("ud2"); }), ExInfo(Vec::UD), "UD2");

  uint64_t cr0 = cpu::read_cr0();
  cpu::write_cr0(cr0 | cpu::cr0::TS);
  ExInfo nm = catch_fault([] { asm volatile("fninit"); });
  cpu::write_cr0(cr0);
  report_fault(nm, ExInfo(Vec::NM), "x87 instruction with CR0.TS set");

  uint16_t sel = desc::set_test_descriptor(0, desc::kDescFlatData & ~desc::kDescPresent);
  report_fault(catch_fault([sel] { asm volatile("mov %0, %%fs" ::"r"(sel)); }), ExInfo(Vec::NP, sel),
            "load FS with a not-present descriptor");
  report_fault(catch_fault([sel] { asm volatile("mov %0, %%ss" ::"r"(sel)); }), ExInfo(Vec::SS, sel),
            "load SS with a not-present descriptor");
  report_fault_xfail(known_tcg_difference("non-canonical SS-relative accesses raise #GP, not #SS"),
                   catch_fault([] {
                     asm volatile("push %%rbp; movabs %0, %%rbp; mov (%%rbp), %%rax; pop %%rbp"
                                  ::"i"(kNonCanonical) : "rax", "memory");
                   }),
                   ExInfo(Vec::SS, 0), "non-canonical stack-segment access");
  report_fault(catch_fault([] {
              asm volatile("movabs %0, %%rax; mov (%%rax), %%rax" ::"i"(kNonCanonical) : "rax");
            }),
            ExInfo(Vec::GP, 0), "non-canonical data access");
  report_fault(catch_fault([] { asm volatile("mov %0, %%fs" ::"r"(0xfff8)); }),
            ExInfo(Vec::GP, 0xfff8), "selector beyond the GDT limit");
  volatile uint8_t* null = nullptr;
  report_fault(catch_fault([null] { (void)*null; }), ExInfo(Vec::PF, 0), "read of unmapped page 0");

  // INT n through a not-present gate: #NP with the IDT flag (bit 1) and the
  // vector in the selector index (Intel SDM vol.3 §6.13).
  desc::set_gate_present(0x80, false);
  ExInfo np = catch_fault([] { asm volatile("int $0x80"); });
  desc::set_gate_present(0x80, true);
  report_fault_xfail(known_tcg_difference("IDT error codes in long mode carry vector*16, not vector*8"), np,
                   ExInfo(Vec::NP, 0x80 * 8 + 2), "INT 0x80 through a not-present gate");

  // A #GP whose own gate is not present: #NP while delivering #GP, two
  // contributory faults, so #DF with error code 0 (SDM vol.3 table 6-5).
  desc::set_gate_present(13, false);
  ExInfo df = catch_fault([] {
    asm volatile("movabs %0, %%rax; mov (%%rax), %%rax" ::"i"(kNonCanonical) : "rax");
  });
  desc::set_gate_present(13, true);
  report_fault(df, ExInfo(Vec::DF, 0), "#GP through a not-present gate");

  cpu::write_cr0(cr0 | cpu::cr0::NE);
  ExInfo mf = catch_fault([] {
    // Unmask x87 zero-divide, divide 1 by 0, and let FWAIT deliver it.
    static const uint16_t cw = 0x037b;
    asm volatile("fninit; fldcw %0; fldz; fld1; fdivp; fwait" ::"m"(cw));
  });
  asm volatile("fninit");
  cpu::write_cr0(cr0);
  report_fault(mf, ExInfo(Vec::MF), "unmasked x87 divide by zero");

  uint64_t cr4 = cpu::read_cr4();
  cpu::write_cr4(cr4 | cpu::cr4::OSFXSR | cpu::cr4::OSXMMEXCPT);
  ExInfo xm = catch_fault([] {
    // XMM0/XMM1 are not listed as clobbered: the image is built with
    // -mgeneral-regs-only, so no compiled code keeps values there.
    static const uint32_t unmask_zero_divide = 0x1f80 & ~(1u << 9);
    asm volatile("ldmxcsr %0; xorps %%xmm0, %%xmm0; mov $1, %%eax; cvtsi2ss %%eax, %%xmm1;"
                 "divss %%xmm0, %%xmm1" ::"m"(unmask_zero_divide) : "rax");
  });
  static const uint32_t default_mxcsr = 0x1f80;
  asm volatile("ldmxcsr %0" ::"m"(default_mxcsr));
  cpu::write_cr4(cr4);
  report_fault_xfail(known_tcg_difference("unmasked SIMD floating-point exceptions do not raise #XM"), xm,
                   ExInfo(Vec::XM), "unmasked SSE divide by zero");
}

// Gates reached by INT n: the handler counts and resumes after the INT.
volatile unsigned hits[256];
volatile uint64_t handler_rflags;
bool count_and_resume(ExceptionFrame* f) {
  hits[f->vector & 0xff] = hits[f->vector & 0xff] + 1;
  handler_rflags = cpu::read_rflags();
  return true;
}

template <unsigned V>
void soft_int(const char* what) {
  ScopedHandler h(V, count_and_resume);
  unsigned before = hits[V];
  asm volatile("sti; int %0; cli" ::"i"(V));
  report(hits[V] == before + 1, "INT %u reaches the %s handler once", V, what);
}

void gates() {
  ReportPrefix p("gate");
  soft_int<2>("NMI");
  soft_int<18>("#MC");
  soft_int<20>("#VE");
  soft_int<32>("first external");
  soft_int<0x80>("0x80");
  soft_int<0xff>("last");
  report(!(handler_rflags & rflags::kInterrupt), "interrupt gates run handlers with IF clear");
}

bool resume_after_int3(ExceptionFrame*) { return true; }

void registers_preserved() {
  ScopedHandler h(3, resume_after_int3);
  uint64_t out[8];
  asm volatile(
      "push %%rbx; push %%r12; push %%r13; push %%r14; push %%r15\n"
      "mov $0x1111, %%r8; mov $0x2222, %%r9; mov $0x3333, %%r10; mov $0x4444, %%r11\n"
      "mov $0x5555, %%r12; mov $0x6666, %%r13; mov $0x7777, %%r14; mov $0x8888, %%r15\n"
      "int3\n"
      "mov %%r8, 0(%0); mov %%r9, 8(%0); mov %%r10, 16(%0); mov %%r11, 24(%0)\n"
      "mov %%r12, 32(%0); mov %%r13, 40(%0); mov %%r14, 48(%0); mov %%r15, 56(%0)\n"
      "pop %%r15; pop %%r14; pop %%r13; pop %%r12; pop %%rbx\n"
      :
      : "D"(out)
      : "r8", "r9", "r10", "r11", "memory");
  bool ok = true;
  for (unsigned i = 0; i < 8; ++i) ok &= out[i] == 0x1111 * (i + 1);
  report(ok, "r8-r15 survive an exception that resumes");
}

// Alignment checking: a misaligned data access at CPL3 with CR0.AM and
// RFLAGS.AC both set raises #AC(0) (Intel SDM vol.3 §6.15 "Interrupt 17",
// AMD APM vol.2 §8.2.18); clear either, or run at CPL0, and it does not.
alignas(16) volatile uint8_t ac_buf[32];

uint64_t load_with_ac(uintptr_t addr) {
  uint64_t v;
  asm volatile("pushfq; orq %2, (%%rsp); popfq; movq (%1), %0"
               : "=r"(v)
               : "r"(addr), "i"(rflags::kAlignmentCheck)
               : "memory", "cc");
  return v;
}

// The same at CPL0, where RFLAGS.AC must not stay set afterwards (with SMAP
// it would open user pages to the kernel).
uint64_t load_with_ac_restored(uintptr_t addr) {
  uint64_t v;
  asm volatile("pushfq; pushfq; orq %2, (%%rsp); popfq; movq (%1), %0; popfq"
               : "=r"(v)
               : "r"(addr), "i"(rflags::kAlignmentCheck)
               : "memory", "cc");
  return v;
}

void alignment_check() {
  ReportPrefix p("#AC");
  const uintptr_t odd = reinterpret_cast<uintptr_t>(&ac_buf[1]);
  const uintptr_t even = reinterpret_cast<uintptr_t>(&ac_buf[8]);
  const uint64_t cr0 = cpu::read_cr0();
  cpu::write_cr0(cr0 | cpu::cr0::AM);
  UserResult misaligned = run_user([odd] { return load_with_ac(odd); });
  UserResult aligned = run_user([even] { return load_with_ac(even); });
  ExInfo cpl0 = catch_fault([odd] { (void)load_with_ac_restored(odd); });
  cpu::write_cr0(cr0 & ~cpu::cr0::AM);
  UserResult no_am = run_user([odd] { return load_with_ac(odd); });
  cpu::write_cr0(cr0);
  report_fault_xfail(known_tcg_difference("alignment checking (#AC) is not implemented"), misaligned.ex,
                   ExInfo(Vec::AC, 0), "CPL3 misaligned load, CR0.AM and RFLAGS.AC set");
  report_fault(aligned.ex, ExInfo(), "CPL3 aligned load, CR0.AM and RFLAGS.AC set");
  report_fault(cpl0, ExInfo(), "CPL0 misaligned load, CR0.AM and RFLAGS.AC set");
  report_fault(no_am.ex, ExInfo(), "CPL3 misaligned load, CR0.AM clear");
  // The CPL3 code returns with AC still set; the way back must clear it.
  report(aligned.ok() && !(cpu::read_rflags() & rflags::kAlignmentCheck),
         "RFLAGS.AC does not leak out of the CPL3 runs");
}

void not_here() {
  ReportPrefix p("unreachable");
  if (cpu::cpuid(0).eax >= 7 && (cpu::cpuid(7).ecx & (1u << 7)))
    report_skip("#CP: CET shadow stacks are not enabled by this framework yet");
  else
    report_skip("#CP: no CET shadow stacks on this CPU");
  report_skip("#VC/#SX: raised only on SEV-ES guests and SVM hosts (see the sev test)");
}

}  // namespace

int main() {
  faults();
  gates();
  registers_preserved();
  alignment_check();
  not_here();
  return report_summary();
}
