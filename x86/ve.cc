// ve: the real #VE handler (lib/platform/ve.h), driven on any guest.
//
// A #VE is synthesized: an exception frame whose RIP points at a labelled
// instruction below, plus the #VE information (exit reason, qualification,
// GPA, instruction length) that TDG.VP.VEINFO.GET would return. The
// handler decodes the instruction and issues TDVMCALLs to a loopback TDX
// module + VMM (lib/platform/loopback.h) that performs each request
// natively. Each check compares with the native result: CPUID, port I/O to
// the serial console (visible), string I/O, MSRs, MMIO to the local APIC,
// HLT, and that unserved exits end in ReportFatalError with a reason code.
#include <cstdint>

#include "apic/apic.h"
#include "cpu/addr.h"
#include "cpu/desc.h"
#include "cpu/exceptions.h"
#include "cpu/processor.h"
#include "boot/bootinfo.h"
#include "platform/emulate.h"
#include "platform/loopback.h"
#include "platform/tdx.h"
#include "platform/ve.h"
#include "rt/report.h"

#define VE_INSN(name) extern "C" [[gnu::visibility("hidden")]] const uint8_t name[];
VE_INSN(ve_cpuid)
VE_INSN(ve_out_dx)
VE_INSN(ve_in_dx)
VE_INSN(ve_rep_outsb)
VE_INSN(ve_rdmsr)
VE_INSN(ve_wrmsr)
VE_INSN(ve_mmio_load)
VE_INSN(ve_mmio_movzx8)
VE_INSN(ve_mmio_store)
VE_INSN(ve_mmio_movs)
VE_INSN(ve_hlt)
VE_INSN(ve_vmcall)

// Never executed: only the handler reads these bytes.
asm(R"(
  .pushsection .text, "ax"
  .irp l, ve_cpuid, ve_out_dx, ve_in_dx, ve_rep_outsb, ve_rdmsr, ve_wrmsr, ve_mmio_load, ve_mmio_movzx8, ve_mmio_store, ve_mmio_movs, ve_hlt, ve_vmcall
  .globl \l
  .hidden \l
  .endr
  ud2
ve_cpuid: cpuid
ve_out_dx: outb %al, %dx
ve_in_dx: inb %dx, %al
ve_rep_outsb: rep outsb
ve_rdmsr: rdmsr
ve_wrmsr: wrmsr
ve_mmio_load: movl (%rbx), %eax
ve_mmio_movzx8: movzbl (%rbx), %ecx
ve_mmio_store: movl %ecx, (%rbx)
ve_mmio_movs: movsl
ve_hlt: hlt
ve_vmcall: vmcall
  ud2
  .popsection
)");

namespace {

using platform::EmulError;
using platform::LoopbackVe;
using tdx::ExitReason;

constexpr uint16_t kCom1 = 0x3f8;
constexpr uint16_t kCom1Scratch = kCom1 + 7;
constexpr uint32_t kApicVersion = static_cast<uint32_t>(apic::Reg::version);
constexpr uint32_t kApicTpr = static_cast<uint32_t>(apic::Reg::tpr);

ExceptionFrame frame_at(const uint8_t* insn) {
  ExceptionFrame f{};
  f.regs.rip = reinterpret_cast<uint64_t>(insn);
  f.regs.cs = desc::kKernelCs;
  f.regs.ss = desc::kKernelDs;
  f.regs.rflags = cpu::read_rflags() & ~rflags::kDirection;
  f.vector = static_cast<uint64_t>(Vec::VE);
  return f;
}

tdx::VeInfo insn_exit(ExitReason r, uint32_t length, uint64_t qualification = 0) {
  return tdx::VeInfo{static_cast<uint32_t>(r), qualification, 0, 0, length, 0};
}

uint64_t io_qual(uint16_t port, uint8_t size, bool in, bool string = false, bool rep = false) {
  return tdx::IoQualification{size, in, string, rep, false, port}.encode();
}

bool run(LoopbackVe& lb, ExceptionFrame& f, tdx::VeInfo info, uint64_t advance) {
  lb.next = info;
  const uint64_t rip = f.regs.rip;
  return platform::handle_ve(f, lb) && !lb.log.terminated && f.regs.rip == rip + advance;
}

void check_cpuid(LoopbackVe& lb) {
  ReportPrefix p("cpuid");
  const uint32_t leaves[] = {0, 1, 7, 0x80000000, 0x80000001};
  for (uint32_t leaf : leaves) {
    ExceptionFrame f = frame_at(ve_cpuid);
    f.regs[Gpr::rax] = leaf;
    f.regs[Gpr::rcx] = 0;
    const bool ok = run(lb, f, insn_exit(ExitReason::cpuid, 2), 2);
    cpu::CpuidResult n = cpu::cpuid(leaf, 0);
    report(ok && f.regs[Gpr::rax] == n.eax && f.regs[Gpr::rbx] == n.ebx &&
               f.regs[Gpr::rcx] == n.ecx && f.regs[Gpr::rdx] == n.edx &&
               lb.log.last_code == static_cast<uint64_t>(tdx::Vmcall::cpuid),
           "leaf 0x%x matches native through TDVMCALL<Instruction.CPUID>", leaf);
  }
}

void check_io(LoopbackVe& lb) {
  ReportPrefix p("io");
  const char msg[] = "ve: this line went OUT byte by byte through TDVMCALL<Instruction.IO>\r\n";
  bool all = true;
  for (size_t i = 0; i + 1 < sizeof(msg); ++i) {
    ExceptionFrame f = frame_at(ve_out_dx);
    f.regs[Gpr::rdx] = kCom1;
    f.regs[Gpr::rax] = static_cast<uint8_t>(msg[i]);
    all &= run(lb, f, insn_exit(ExitReason::io, 1, io_qual(kCom1, 1, false)), 1);
  }
  report(all, "OUT DX, AL to the UART");

  ExceptionFrame f = frame_at(ve_out_dx);
  f.regs[Gpr::rdx] = kCom1Scratch;
  f.regs[Gpr::rax] = 0x3c;
  bool ok = run(lb, f, insn_exit(ExitReason::io, 1, io_qual(kCom1Scratch, 1, false)), 1);
  report(ok && cpu::inb(kCom1Scratch) == 0x3c, "OUT to the UART scratch register reads back natively");
  cpu::outb(kCom1Scratch, 0xc3);
  f = frame_at(ve_in_dx);
  f.regs[Gpr::rdx] = kCom1Scratch;
  f.regs[Gpr::rax] = 0xffffffffffffff00ull;
  ok = run(lb, f, insn_exit(ExitReason::io, 1, io_qual(kCom1Scratch, 1, true)), 1);
  report(ok && f.regs[Gpr::rax] == 0xffffffffffffffc3ull, "IN AL, DX = native, RAX[63:8] kept (0x%lx)",
         f.regs[Gpr::rax]);

  const char str[] = "ve: this line went through REP OUTSB, one TDVMCALL per byte\r\n";
  const size_t len = sizeof(str) - 1;
  f = frame_at(ve_rep_outsb);
  f.regs[Gpr::rdx] = kCom1;
  f.regs[Gpr::rsi] = reinterpret_cast<uint64_t>(str);
  f.regs[Gpr::rcx] = len;
  const unsigned exits = lb.log.exits;
  ok = run(lb, f, insn_exit(ExitReason::io, 2, io_qual(kCom1, 1, false, true, true)), 2);
  report(ok && f.regs[Gpr::rcx] == 0 && lb.log.exits == exits + len &&
             f.regs[Gpr::rsi] == reinterpret_cast<uint64_t>(str) + len,
         "REP OUTSB: %zu calls, RCX 0, RSI advanced", len);

  f = frame_at(ve_out_dx);
  f.regs[Gpr::rdx] = kCom1;
  lb.next = insn_exit(ExitReason::io, 1, io_qual(kCom1, 1, true));
  ok = platform::handle_ve(f, lb);
  report(!ok && lb.log.terminated &&
             lb.log.reason_code == static_cast<uint64_t>(EmulError::wrong_instruction),
         "a qualification that says IN for an OUT ends in ReportFatalError (code %lu)",
         lb.log.reason_code);
  lb.log.terminated = false;
}

void check_msr(LoopbackVe& lb) {
  ReportPrefix p("msr");
  ExceptionFrame f = frame_at(ve_rdmsr);
  f.regs[Gpr::rcx] = cpu::kMsrApicBase;
  bool ok = run(lb, f, insn_exit(ExitReason::msr_read, 2), 2);
  const uint64_t native = cpu::rdmsr(cpu::kMsrApicBase);
  report(ok && f.regs[Gpr::rax] == static_cast<uint32_t>(native) && f.regs[Gpr::rdx] == native >> 32,
         "RDMSR IA32_APIC_BASE matches native (0x%lx)", native);
  const uint64_t saved = cpu::rdmsr(cpu::kMsrKernelGsBase), value = 0x0000654321000000ull;
  f = frame_at(ve_wrmsr);
  f.regs[Gpr::rcx] = cpu::kMsrKernelGsBase;
  f.regs[Gpr::rax] = static_cast<uint32_t>(value);
  f.regs[Gpr::rdx] = value >> 32;
  ok = run(lb, f, insn_exit(ExitReason::msr_write, 2), 2);
  report(ok && cpu::rdmsr(cpu::kMsrKernelGsBase) == value, "WRMSR KERNEL_GS_BASE reaches the MSR");
  cpu::wrmsr(cpu::kMsrKernelGsBase, saved);
}

void check_mmio(LoopbackVe& lb, uint64_t apic) {
  ReportPrefix p("mmio");
  const uint32_t native = *reinterpret_cast<const volatile uint32_t*>(apic + kApicVersion);
  tdx::VeInfo ept{static_cast<uint32_t>(ExitReason::ept_violation), 0, apic + kApicVersion,
                  apic + kApicVersion, 0, 0};
  ExceptionFrame f = frame_at(ve_mmio_load);
  f.regs[Gpr::rbx] = apic + kApicVersion;
  f.regs[Gpr::rax] = ~0ull;
  bool ok = run(lb, f, ept, 2);
  report(ok && f.regs[Gpr::rax] == native && lb.log.last_code == static_cast<uint64_t>(tdx::Vmcall::mmio),
         "MOV r32, [APIC version] = 0x%lx, native 0x%x", f.regs[Gpr::rax], native);

  const uint8_t native8 = *reinterpret_cast<const volatile uint8_t*>(apic + kApicVersion);
  f = frame_at(ve_mmio_movzx8);
  f.regs[Gpr::rbx] = apic + kApicVersion;
  f.regs[Gpr::rcx] = ~0ull;
  ok = run(lb, f, ept, 3);
  report(ok && f.regs[Gpr::rcx] == native8, "MOVZX r32, byte [APIC version] = native 0x%x", native8);

  volatile uint32_t* tpr = reinterpret_cast<volatile uint32_t*>(apic + kApicTpr);
  const uint32_t saved = *tpr;
  f = frame_at(ve_mmio_store);
  f.regs[Gpr::rbx] = apic + kApicTpr;
  f.regs[Gpr::rcx] = 0x30;
  ok = run(lb, f, ept, 2);
  const uint32_t after = *tpr;
  *tpr = saved;
  report(ok && (after & 0xff) == 0x30, "MOV [APIC TPR], r32 reaches the APIC (0x%x)", after);

  uint32_t ram = 0;
  f = frame_at(ve_mmio_movs);
  f.regs[Gpr::rsi] = apic + kApicVersion;
  f.regs[Gpr::rdi] = reinterpret_cast<uint64_t>(&ram);
  ok = run(lb, f, ept, 1);
  report(ok && ram == native, "MOVSD from the APIC to RAM copies 0x%x", ram);
}

void check_other(LoopbackVe& lb) {
  ReportPrefix p("other");
  ExceptionFrame f = frame_at(ve_hlt);
  f.regs.rflags &= ~rflags::kInterrupt;
  const unsigned hlts = lb.log.hlts;
  bool ok = run(lb, f, insn_exit(ExitReason::hlt, 1), 1);
  report(ok && lb.log.hlts == hlts + 1 && lb.log.last_info1 == 1,
         "HLT with IF=0: TDVMCALL<Instruction.HLT>, interrupts-blocked flag set");

  f = frame_at(ve_cpuid);
  f.regs[Gpr::rax] = 0;
  lb.next = insn_exit(ExitReason::cpuid, 3);
  ok = platform::handle_ve(f, lb);
  report(!ok && lb.log.terminated &&
             lb.log.reason_code == static_cast<uint64_t>(EmulError::wrong_instruction),
         "an instruction length that disagrees with the decoder: ReportFatalError (code %lu)",
         lb.log.reason_code);

  LoopbackVe fresh(platform::GpaWindow{});
  f = frame_at(ve_vmcall);
  fresh.next = insn_exit(ExitReason::vmcall, 3);
  ok = platform::handle_ve(f, fresh);
  report(!ok && fresh.log.terminated &&
             fresh.log.reason_code == static_cast<uint64_t>(EmulError::unsupported_exit) &&
             fresh.log.last_code == static_cast<uint64_t>(tdx::Vmcall::report_fatal_error),
         "VMCALL (unsupported exit reason): ReportFatalError, code %lu", fresh.log.reason_code);
}

}  // namespace

int main() {
  report_info("platform %s; handler under test: lib/platform/ve.cc through a loopback TDX module",
              platform_str(boot_info().detected.platform));
  if (boot_info().detected.platform != Platform::plain) {
    report_skip("the loopback performs requests natively, which needs a plain guest");
    return report_summary();
  }
  const uint64_t apic_base = cpu::rdmsr(cpu::kMsrApicBase);
  const uint64_t apic = apic_base & apic::base_msr::kAddressMask;
  const bool xapic = (apic_base & apic::base_msr::kEnable) && !(apic_base & apic::base_msr::kExtd);
  LoopbackVe lb(platform::GpaWindow{xapic ? apic : 0, xapic ? kPageSize : 0});
  check_cpuid(lb);
  check_io(lb);
  check_msr(lb);
  if (xapic)
    check_mmio(lb, apic);
  else
    report_skip("mmio: the local APIC is not in xAPIC mode (APIC_BASE 0x%lx)", apic_base);
  check_other(lb);
  return report_summary();
}
