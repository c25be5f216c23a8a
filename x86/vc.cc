// vc: the real #VC handler (lib/platform/vc.h), driven on any guest.
//
// A #VC is synthesized: an exception frame whose RIP points at a labelled
// instruction below and whose error code is the SVM exit code hardware
// would report. The handler decodes the instruction and talks GHCB to a
// loopback "hypervisor" (lib/platform/loopback.h) that performs each
// request natively and replies the way the GHCB spec says. Every check
// compares the handler's result with the native one: CPUID leaves, port
// I/O reaching the serial console (visible in the output), string I/O,
// MSRs, MMIO to the local APIC, RDTSC(P), WBINVD, DR7, and that what the
// handler cannot serve ends in its termination path with a reason code.
// The same handler runs as the #VC vector on SEV-ES/SNP guests.
#include <cstdint>

#include "apic/apic.h"
#include "cpu/addr.h"
#include "cpu/desc.h"
#include "cpu/exceptions.h"
#include "cpu/processor.h"
#include "boot/bootinfo.h"
#include "platform/emulate.h"
#include "platform/ghcb.h"
#include "platform/loopback.h"
#include "platform/vc.h"
#include "rt/report.h"
#include "rt/string.h"

#define VC_INSN(name) extern "C" [[gnu::visibility("hidden")]] const uint8_t name[];
VC_INSN(vc_cpuid)
VC_INSN(vc_out_dx)
VC_INSN(vc_in_dx)
VC_INSN(vc_rep_outsb)
VC_INSN(vc_rdmsr)
VC_INSN(vc_wrmsr)
VC_INSN(vc_mmio_load)
VC_INSN(vc_mmio_movzx8)
VC_INSN(vc_mmio_movzx16)
VC_INSN(vc_mmio_movsx8)
VC_INSN(vc_mmio_store)
VC_INSN(vc_mmio_movs)
VC_INSN(vc_rdtsc)
VC_INSN(vc_rdtscp)
VC_INSN(vc_wbinvd)
VC_INSN(vc_dr7_write)
VC_INSN(vc_dr7_read)
VC_INSN(vc_vmmcall)
VC_INSN(vc_monitor)

// Never executed: only the handler reads these bytes.
asm(R"(
  .pushsection .text, "ax"
  .irp l, vc_cpuid, vc_out_dx, vc_in_dx, vc_rep_outsb, vc_rdmsr, vc_wrmsr, vc_mmio_load, vc_mmio_movzx8, vc_mmio_movzx16, vc_mmio_movsx8, vc_mmio_store, vc_mmio_movs, vc_rdtsc, vc_rdtscp, vc_wbinvd, vc_dr7_write, vc_dr7_read, vc_vmmcall, vc_monitor
  .globl \l
  .hidden \l
  .endr
  ud2
vc_cpuid: cpuid
vc_out_dx: outb %al, %dx
vc_in_dx: inb %dx, %al
vc_rep_outsb: rep outsb
vc_rdmsr: rdmsr
vc_wrmsr: wrmsr
vc_mmio_load: movl (%rbx), %eax
vc_mmio_movzx8: movzbl (%rbx), %ecx
vc_mmio_movzx16: movzwq (%rbx), %rdx
vc_mmio_movsx8: movsbl (%rbx), %ecx
vc_mmio_store: movl %ecx, (%rbx)
vc_mmio_movs: movsl
vc_rdtsc: rdtsc
vc_rdtscp: rdtscp
vc_wbinvd: wbinvd
vc_dr7_write: mov %rax, %dr7
vc_dr7_read: mov %dr7, %rsi
vc_vmmcall: vmmcall
vc_monitor: monitor
  ud2
  .popsection
)");

namespace {

using ghcb::ExitCode;
using platform::EmulError;
using platform::LoopbackVc;

constexpr uint16_t kCom1 = 0x3f8;
constexpr uint16_t kCom1Scratch = kCom1 + 7;  // 16550 scratch register
constexpr uint32_t kApicVersion = static_cast<uint32_t>(apic::Reg::version);
constexpr uint32_t kApicTpr = static_cast<uint32_t>(apic::Reg::tpr);

ExceptionFrame frame_at(const uint8_t* insn, ExitCode code) {
  ExceptionFrame f{};
  f.regs.rip = reinterpret_cast<uint64_t>(insn);
  f.regs.cs = desc::kKernelCs;
  f.regs.ss = desc::kKernelDs;
  f.regs.rflags = cpu::read_rflags() & ~rflags::kDirection;
  f.vector = static_cast<uint64_t>(Vec::VC);
  f.error_code = static_cast<uint64_t>(code);
  return f;
}

// Handles one synthesized #VC; true when the handler succeeded and moved
// RIP past the instruction (or left it for an unfinished REP).
bool run(LoopbackVc& lb, ExceptionFrame& f, uint64_t expect_rip_advance) {
  const uint64_t rip = f.regs.rip;
  const bool ok = platform::handle_vc(f, lb);
  return ok && !lb.log.terminated && f.regs.rip == rip + expect_rip_advance;
}

void check_cpuid(LoopbackVc& lb, bool ghcb_up) {
  ReportPrefix p(ghcb_up ? "cpuid" : "cpuid (MSR protocol)");
  struct Leaf { uint32_t leaf, sub; };
  const uint32_t max = cpu::cpuid(0).eax, max_ext = cpu::cpuid(0x80000000).eax;
  const Leaf leaves[] = {{0, 0}, {1, 0}, {7, 0}, {0xd, 0}, {0x80000000, 0}, {0x80000001, 0},
                         {0x80000008, 0}};
  for (const Leaf& l : leaves) {
    if ((l.leaf < 0x80000000 && l.leaf > max) || (l.leaf >= 0x80000000 && l.leaf > max_ext))
      continue;
    ExceptionFrame f = frame_at(vc_cpuid, ExitCode::cpuid);
    f.regs[Gpr::rax] = 0xdead0000'00000000ull | l.leaf;
    f.regs[Gpr::rcx] = l.sub;
    const unsigned exits = lb.log.exits;
    const bool ok = run(lb, f, 2);
    cpu::CpuidResult n = cpu::cpuid(l.leaf, l.sub);
    report(ok && f.regs[Gpr::rax] == n.eax && f.regs[Gpr::rbx] == n.ebx &&
               f.regs[Gpr::rcx] == n.ecx && f.regs[Gpr::rdx] == n.edx &&
               lb.log.exits == exits + (ghcb_up ? 1 : 4),
           "leaf 0x%x.%u matches native (eax 0x%lx ebx 0x%lx ecx 0x%lx edx 0x%lx)", l.leaf,
           l.sub, f.regs[Gpr::rax], f.regs[Gpr::rbx], f.regs[Gpr::rcx], f.regs[Gpr::rdx]);
  }
}

void check_ioio(LoopbackVc& lb) {
  ReportPrefix p("ioio");
  const char msg[] = "vc: this line went OUT byte by byte through the loopback GHCB\r\n";
  bool all = true;
  for (size_t i = 0; i + 1 < sizeof(msg); ++i) {
    ExceptionFrame f = frame_at(vc_out_dx, ExitCode::ioio);
    f.regs[Gpr::rdx] = kCom1;
    f.regs[Gpr::rax] = static_cast<uint8_t>(msg[i]);
    all &= run(lb, f, 1);
  }
  ghcb::IoioInfo io = ghcb::IoioInfo::decode(lb.log.last_info1);
  report(all && lb.log.last_code == static_cast<uint64_t>(ExitCode::ioio) && io.port == kCom1 &&
             io.size == 1 && !io.in && !io.string,
         "OUT DX, AL to the UART (SW_EXITINFO1 port 0x%x size %u)", io.port, io.size);

  ExceptionFrame f = frame_at(vc_out_dx, ExitCode::ioio);
  f.regs[Gpr::rdx] = kCom1Scratch;
  f.regs[Gpr::rax] = 0x5a;
  bool ok = run(lb, f, 1);
  report(ok && cpu::inb(kCom1Scratch) == 0x5a, "OUT to the UART scratch register reads back natively");
  cpu::outb(kCom1Scratch, 0xa5);
  f = frame_at(vc_in_dx, ExitCode::ioio);
  f.regs[Gpr::rdx] = kCom1Scratch;
  f.regs[Gpr::rax] = 0x1122334455667700ull;
  ok = run(lb, f, 1);
  report(ok && f.regs[Gpr::rax] == 0x11223344556677a5ull,
         "IN AL, DX reads the native value and keeps RAX[63:8] (rax 0x%lx)", f.regs[Gpr::rax]);

  const char str[] = "vc: this line went through REP OUTSB as one string IOIO event\r\n";
  const size_t len = sizeof(str) - 1;
  f = frame_at(vc_rep_outsb, ExitCode::ioio);
  f.regs[Gpr::rdx] = kCom1;
  f.regs[Gpr::rsi] = reinterpret_cast<uint64_t>(str);
  f.regs[Gpr::rcx] = len;
  const unsigned exits = lb.log.exits;
  ok = run(lb, f, 2);
  io = ghcb::IoioInfo::decode(lb.log.last_info1);
  report(ok && f.regs[Gpr::rcx] == 0 && f.regs[Gpr::rsi] == reinterpret_cast<uint64_t>(str) + len &&
             lb.log.exits == exits + 1 && io.string && io.rep && lb.log.last_info2 == len &&
             lb.log.last_scratch == lb.ghcb_gpa() + offsetof(ghcb::Page, shared_buffer),
         "REP OUTSB: one event, count %lu in SW_EXITINFO2, data in the shared buffer, "
         "RCX 0 and RSI advanced",
         lb.log.last_info2);
}

void check_msr(LoopbackVc& lb) {
  ReportPrefix p("msr");
  ExceptionFrame f = frame_at(vc_rdmsr, ExitCode::msr);
  f.regs[Gpr::rcx] = cpu::kMsrApicBase;
  f.regs[Gpr::rax] = f.regs[Gpr::rdx] = ~0ull;
  bool ok = run(lb, f, 2);
  const uint64_t native = cpu::rdmsr(cpu::kMsrApicBase);
  report(ok && f.regs[Gpr::rax] == static_cast<uint32_t>(native) && f.regs[Gpr::rdx] == native >> 32,
         "RDMSR IA32_APIC_BASE matches native (0x%lx)", native);

  const uint64_t saved = cpu::rdmsr(cpu::kMsrKernelGsBase);
  const uint64_t value = 0x0000123456789000ull;
  f = frame_at(vc_wrmsr, ExitCode::msr);
  f.regs[Gpr::rcx] = cpu::kMsrKernelGsBase;
  f.regs[Gpr::rax] = static_cast<uint32_t>(value);
  f.regs[Gpr::rdx] = value >> 32;
  ok = run(lb, f, 2);
  report(ok && cpu::rdmsr(cpu::kMsrKernelGsBase) == value, "WRMSR KERNEL_GS_BASE reaches the MSR");
  cpu::wrmsr(cpu::kMsrKernelGsBase, saved);
}

void check_mmio(LoopbackVc& lb, uint64_t apic) {
  ReportPrefix p("mmio");
  const auto* ver = reinterpret_cast<const volatile uint32_t*>(apic + kApicVersion);
  const uint32_t native = *ver;

  ExceptionFrame f = frame_at(vc_mmio_load, ExitCode::npf);
  f.regs[Gpr::rbx] = apic + kApicVersion;
  f.regs[Gpr::rax] = ~0ull;
  bool ok = run(lb, f, 2);
  report(ok && f.regs[Gpr::rax] == native && lb.log.last_info1 == apic + kApicVersion &&
             lb.log.last_info2 == 4,
         "MOV r32, [APIC version] reads 0x%lx, native 0x%x (zero-extended)", f.regs[Gpr::rax],
         native);

  // The APIC answers only dword accesses in full (QEMU returns 0 for
  // narrower ones), so narrow forms compare with a native read of the same
  // width.
  const uint8_t native8 = *reinterpret_cast<const volatile uint8_t*>(apic + kApicVersion);
  f = frame_at(vc_mmio_movzx8, ExitCode::npf);
  f.regs[Gpr::rbx] = apic + kApicVersion;
  f.regs[Gpr::rcx] = ~0ull;
  ok = run(lb, f, 3);
  report(ok && f.regs[Gpr::rcx] == native8 && lb.log.last_info2 == 1,
         "MOVZX r32, byte [APIC version] = 0x%lx, native 0x%x", f.regs[Gpr::rcx], native8);

  const uint16_t native16 = *reinterpret_cast<const volatile uint16_t*>(apic + kApicVersion);
  f = frame_at(vc_mmio_movzx16, ExitCode::npf);
  f.regs[Gpr::rbx] = apic + kApicVersion;
  f.regs[Gpr::rdx] = ~0ull;
  ok = run(lb, f, 4);
  report(ok && f.regs[Gpr::rdx] == native16 && lb.log.last_info2 == 2,
         "MOVZX r64, word [APIC version] = 0x%lx, native 0x%x", f.regs[Gpr::rdx], native16);

  volatile uint32_t* tpr = reinterpret_cast<volatile uint32_t*>(apic + kApicTpr);
  const uint32_t saved_tpr = *tpr;
  f = frame_at(vc_mmio_store, ExitCode::npf);
  f.regs[Gpr::rbx] = apic + kApicTpr;
  f.regs[Gpr::rcx] = 0x20;
  ok = run(lb, f, 2);
  const uint32_t after = *tpr;
  *tpr = saved_tpr;
  report(ok && (after & 0xff) == 0x20, "MOV [APIC TPR], r32 reaches the APIC (reads 0x%x)", after);

  uint32_t ram = 0;
  f = frame_at(vc_mmio_movs, ExitCode::npf);
  f.regs[Gpr::rsi] = apic + kApicVersion;
  f.regs[Gpr::rdi] = reinterpret_cast<uint64_t>(&ram);
  ok = run(lb, f, 1);
  report(ok && ram == native && f.regs[Gpr::rsi] == apic + kApicVersion + 4 &&
             f.regs[Gpr::rdi] == reinterpret_cast<uint64_t>(&ram) + 4,
         "MOVSD from the APIC to RAM copies 0x%x and advances RSI/RDI", ram);
}

// A RAM page the loopback treats as MMIO: bytes with the top bit set show
// zero- versus sign-extension.
alignas(4096) volatile uint8_t fake_mmio[4096];

void check_extension() {
  ReportPrefix p("mmio extension");
  LoopbackVc lb(platform::GpaWindow{reinterpret_cast<uint64_t>(fake_mmio), sizeof(fake_mmio)});
  fake_mmio[0] = 0x81;
  fake_mmio[1] = 0x90;
  const uint64_t at = reinterpret_cast<uint64_t>(fake_mmio);
  ExceptionFrame f = frame_at(vc_mmio_movzx8, ExitCode::npf);
  f.regs[Gpr::rbx] = at;
  f.regs[Gpr::rcx] = ~0ull;
  bool ok = run(lb, f, 3);
  report(ok && f.regs[Gpr::rcx] == 0x81 && lb.log.last_info1 == at, "MOVZX r32, byte = 0x%lx",
         f.regs[Gpr::rcx]);
  f = frame_at(vc_mmio_movzx16, ExitCode::npf);
  f.regs[Gpr::rbx] = at;
  f.regs[Gpr::rdx] = ~0ull;
  ok = run(lb, f, 4);
  report(ok && f.regs[Gpr::rdx] == 0x9081, "MOVZX r64, word = 0x%lx", f.regs[Gpr::rdx]);
  f = frame_at(vc_mmio_movsx8, ExitCode::npf);
  f.regs[Gpr::rbx] = at;
  f.regs[Gpr::rcx] = ~0ull;
  ok = run(lb, f, 3);
  report(ok && f.regs[Gpr::rcx] == 0xffffff81, "MOVSX r32, byte = 0x%lx (upper half cleared)",
         f.regs[Gpr::rcx]);
}

void check_misc(LoopbackVc& lb) {
  ReportPrefix p("misc");
  ExceptionFrame f1 = frame_at(vc_rdtsc, ExitCode::rdtsc);
  bool ok1 = run(lb, f1, 2);
  const uint64_t mid = cpu::rdtsc();
  ExceptionFrame f2 = frame_at(vc_rdtsc, ExitCode::rdtsc);
  bool ok2 = run(lb, f2, 2);
  const uint64_t t1 = f1.regs[Gpr::rdx] << 32 | f1.regs[Gpr::rax];
  const uint64_t t2 = f2.regs[Gpr::rdx] << 32 | f2.regs[Gpr::rax];
  report(ok1 && ok2 && t1 <= mid && mid <= t2, "RDTSC is monotonic around a native read (%lu <= %lu <= %lu)",
         t1, mid, t2);

  if (boot_info().features.rdtscp) {
    ExceptionFrame f = frame_at(vc_rdtscp, ExitCode::rdtscp);
    bool ok = run(lb, f, 3);
    report(ok && f.regs[Gpr::rcx] == static_cast<uint32_t>(cpu::rdmsr(cpu::kMsrTscAux)),
           "RDTSCP returns TSC_AUX in ECX (0x%lx)", f.regs[Gpr::rcx]);
  } else {
    report_skip("RDTSCP not supported");
  }

  ExceptionFrame f = frame_at(vc_wbinvd, ExitCode::wbinvd);
  report(run(lb, f, 2) && lb.log.last_code == static_cast<uint64_t>(ExitCode::wbinvd), "WBINVD");

  constexpr uint64_t kDr7Reset = 0x400, kDr7Le = 1ull << 8;
  f = frame_at(vc_dr7_write, ExitCode::dr7_write);
  f.regs[Gpr::rax] = kDr7Reset | kDr7Le;
  bool ok = run(lb, f, 3);
  uint64_t native;
  asm volatile("mov %%dr7, %0" : "=r"(native));
  f = frame_at(vc_dr7_read, ExitCode::dr7_read);
  bool ok_read = run(lb, f, 3);
  asm volatile("mov %0, %%dr7" ::"r"(kDr7Reset));
  report(ok && (native & kDr7Le), "MOV DR7, RAX reaches DR7 (0x%lx)", native);
  report(ok_read && f.regs[Gpr::rsi] == native, "MOV RSI, DR7 returns it (0x%lx)", f.regs[Gpr::rsi]);

  f = frame_at(vc_vmmcall, ExitCode::vmmcall);
  f.regs[Gpr::rax] = 0x1234;
  report(run(lb, f, 3) && f.regs[Gpr::rax] == static_cast<uint64_t>(-1000),
         "VMMCALL: RAX and CPL go out, the hypervisor's RAX comes back");
}

void check_failures() {
  ReportPrefix p("termination");
  struct Case {
    const char* what;
    const uint8_t* insn;
    ExitCode code;
    uint32_t msr;
    EmulError expect;
  };
  const Case cases[] = {
      {"MONITOR (unsupported exit)", vc_monitor, ExitCode::monitor, 0, EmulError::unsupported_exit},
      {"CPUID exit at an OUT", vc_out_dx, ExitCode::cpuid, 0, EmulError::wrong_instruction},
      {"NPF at WBINVD", vc_wbinvd, ExitCode::npf, 0, EmulError::wrong_instruction},
      {"RDMSR the hypervisor refuses (#GP injected)", vc_rdmsr, ExitCode::msr, 0,
       EmulError::hypervisor_error},
  };
  for (const Case& c : cases) {
    LoopbackVc lb(platform::GpaWindow{});
    lb.refuse_next = c.expect == EmulError::hypervisor_error;
    ExceptionFrame f = frame_at(c.insn, c.code);
    f.regs[Gpr::rcx] = c.msr;
    const uint64_t rip = f.regs.rip;
    const bool handled = platform::handle_vc(f, lb);
    report(!handled && lb.log.terminated && lb.log.reason_set == ghcb::msr::kReasonSetFramework &&
               lb.log.reason_code == static_cast<uint8_t>(c.expect) && f.regs.rip == rip,
           "%s: termination request, reason set %u code %lu (%s)", c.what, lb.log.reason_set,
           lb.log.reason_code, platform::emul_error_str(c.expect));
  }
  LoopbackVc early(platform::GpaWindow{}, false);
  ExceptionFrame f = frame_at(vc_rdmsr, ExitCode::msr);
  const bool handled = platform::handle_vc(f, early);
  report(!handled && early.log.reason_code == static_cast<uint8_t>(EmulError::no_ghcb),
         "RDMSR before the GHCB exists: termination, code %lu", early.log.reason_code);
}

}  // namespace

int main() {
  report_info("platform %s; handler under test: lib/platform/vc.cc through a loopback GHCB",
              platform_str(boot_info().detected.platform));
  if (boot_info().detected.platform != Platform::plain) {
    report_skip("the loopback performs requests natively, which needs a plain guest");
    return report_summary();
  }
  const uint64_t apic_base = cpu::rdmsr(cpu::kMsrApicBase);
  const uint64_t apic = apic_base & apic::base_msr::kAddressMask;
  const bool xapic = (apic_base & apic::base_msr::kEnable) && !(apic_base & apic::base_msr::kExtd);

  LoopbackVc lb(platform::GpaWindow{xapic ? apic : 0, xapic ? kPageSize : 0});
  check_cpuid(lb, true);
  LoopbackVc early(platform::GpaWindow{}, false);
  check_cpuid(early, false);
  check_ioio(lb);
  check_msr(lb);
  if (xapic)
    check_mmio(lb, apic);
  else
    report_skip("mmio: the local APIC is not in xAPIC mode (APIC_BASE 0x%lx)", apic_base);
  check_extension();
  check_misc(lb);
  check_failures();
  return report_summary();
}
