#include "cpu/exceptions.h"

#include "cpu/desc.h"
#include "cpu/processor.h"
#include "cpu/regs.h"
#include "rt/console.h"
#include "rt/exit.h"
#include "rt/format.h"
#include "rt/report.h"
#include "smp/percpu.h"

extern "C" char __image_base[], __image_end[], __text_start[], __text_end[];
extern "C" const int32_t __ex_table_start[], __ex_table_end[];

namespace {

constinit ExceptionHandler handlers[256] = {};

// The innermost active catch_fault and the nesting of unexpected-exception
// reports are per CPU (lib/smp/percpu.h). Until per-CPU data exists only
// the BSP runs, and these stand in for its fields; platform bring-up
// installs per-CPU data outside any catch_fault, so nothing is lost.
constinit FaultCatcher* boot_catcher = nullptr;
constinit int boot_unexpected_depth = 0;

FaultCatcher*& catcher() {
  return smp::percpu_ready() ? smp::this_cpu()->catcher : boot_catcher;
}
int& unexpected_depth() {
  return smp::percpu_ready() ? smp::this_cpu()->unexpected_depth : boot_unexpected_depth;
}

struct StackRange {
  uint64_t lo, hi;
};
// The BSP's stacks plus one range per AP (lib/smp keeps each AP's stacks
// in one allocation).
constinit StackRange stacks[16 + desc::kMaxCpus] = {};
constinit unsigned nstacks = 0;

bool on_known_stack(uint64_t p, uint64_t len) {
  for (unsigned i = 0; i < nstacks; ++i)
    if (p >= stacks[i].lo && p + len <= stacks[i].hi) return true;
  return false;
}

bool apply_fixup(ExceptionFrame* f) {
  for (const int32_t* e = __ex_table_start; e + 1 < __ex_table_end; e += 2) {
    uint64_t insn = reinterpret_cast<uint64_t>(&e[0]) + e[0];
    if (insn != f->regs.rip) continue;
    f->regs.rip = reinterpret_cast<uint64_t>(&e[1]) + e[1];
    f->regs[Gpr::r11] = ExInfo::make(f->vector, static_cast<uint32_t>(f->error_code)).raw;
    return true;
  }
  return false;
}

bool resume_catcher(ExceptionFrame* f) {
  // NMI and #MC are not consequences of the code under test; never swallow them.
  FaultCatcher* catcher = ::catcher();
  if (!catcher || f->vector >= 32 || f->vector == 2 || f->vector == 18) return false;
  catcher->info = ExInfo::make(f->vector, static_cast<uint32_t>(f->error_code));
  catcher->cr2 = f->vector == 14 ? cpu::read_cr2() : 0;
  // Return from the exception straight into longjmp(&buf, 1), at CPL0 even
  // if the fault came from user mode.
  f->regs.rip = reinterpret_cast<uint64_t>(&longjmp);
  f->regs[Gpr::rdi] = reinterpret_cast<uint64_t>(&catcher->buf);
  f->regs[Gpr::rsi] = 1;
  f->regs.cs = desc::kKernelCs;
  f->regs.ss = desc::kKernelDs;
  // Trace, alignment-check, direction and nested-task flags set by the code
  // under test must not follow the catcher back out.
  f->regs.rflags &= ~(rflags::kTrap | rflags::kDirection | rflags::kNested | rflags::kAlignmentCheck);
  f->regs[Gpr::rsp] = catcher->buf.regs[6] - 64;
  return true;
}

[[noreturn]] void unexpected(ExceptionFrame* f) {
  const unsigned cpu = smp::current_cpu();
  if (++unexpected_depth() > 1) {
    // A fault while reporting a fault: say the least that can still work.
    printf("\nFATAL: nested exception %s on CPU %u while reporting an unexpected exception\n",
           vector_name(f->vector), cpu);
    platform_exit(Verdict::fail);
  }
  printf("\nUnhandled exception %s (vector %lu) on CPU %u", vector_name(f->vector), f->vector,
         cpu);
  if (vector_has_error_code(f->vector)) printf(", error code 0x%lx", f->error_code);
  printf("\n");
  dump_frame(f);
  report_fail("unhandled exception %s at rip 0x%lx on CPU %u", vector_name(f->vector),
              f->regs.rip, cpu);
  exit(1);
}

}  // namespace

extern "C" void exception_dispatch(ExceptionFrame* f) {
  unsigned v = static_cast<unsigned>(f->vector);
  if (ExceptionHandler h = handlers[v]; h && h(f)) return;
  if (apply_fixup(f)) return;
  if (resume_catcher(f)) return;
  unexpected(f);
}

const char* vector_name(unsigned v) {
  static const char names[32][5] = {
      "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "#CSO", "#TS",
      "#NP", "#SS", "#GP", "#PF", "#15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
      "#22", "#23", "#24", "#25", "#26", "#27", "#HV", "#VC", "#SX", "#31",
  };
  if (v < 32) return names[v];
  static char buf[16];
  rt::snprintf(buf, sizeof(buf), "IRQ 0x%02x", v & 0xff);
  return buf;
}

const char* exinfo_str(ExInfo e, char* buf, unsigned size) {
  if (!e.faulted())
    rt::snprintf(buf, size, "no fault");
  else if (vector_has_error_code(e.vector()))
    rt::snprintf(buf, size, "%s(0x%x)", vector_name(e.vector()), e.error_code());
  else
    rt::snprintf(buf, size, "%s", vector_name(e.vector()));
  return buf;
}

ExceptionHandler set_exception_handler(unsigned vector, ExceptionHandler h) {
  ExceptionHandler prev = handlers[vector & 0xff];
  handlers[vector & 0xff] = h;
  return prev;
}

void fault_catcher_push(FaultCatcher* c) {
  c->prev = catcher();
  catcher() = c;
}

void fault_catcher_pop(FaultCatcher* c) { catcher() = c->prev; }

void register_stack(const void* lo, const void* hi) {
  if (nstacks < sizeof(stacks) / sizeof(stacks[0]))
    stacks[nstacks++] = {reinterpret_cast<uint64_t>(lo), reinterpret_cast<uint64_t>(hi)};
}

static void print_address(uint64_t a) {
  const uint64_t base = reinterpret_cast<uint64_t>(__image_base);
  if (a >= base && a < reinterpret_cast<uint64_t>(__image_end))
    printf("0x%016lx image+0x%lx\n", a, a - base);
  else
    printf("0x%016lx\n", a);
}

// True when `ret` looks like a return address into our code: inside .text
// and preceded by a CALL rel32 (E8) or an indirect CALL through a register
// or memory (FF /2, 2 to 7 bytes long).
static bool looks_like_return(uint64_t ret) {
  const uint64_t lo = reinterpret_cast<uint64_t>(__text_start) + 8;
  if (ret < lo || ret >= reinterpret_cast<uint64_t>(__text_end)) return false;
  const uint8_t* p = reinterpret_cast<const uint8_t*>(ret);
  if (p[-5] == 0xe8) return true;
  for (int len = 2; len <= 7; ++len)
    if (p[-len] == 0xff && ((p[-len + 1] >> 3) & 7) == 2) return true;
  return false;
}

void print_backtrace(uint64_t rip, uint64_t rbp, uint64_t rsp) {
  printf("Backtrace:\n  #0  ");
  print_address(rip);
  unsigned depth = 1;
  // A leaf function may run without a frame of its own (GCC sets none up
  // when it needs no stack), so its caller is only visible as the return
  // address on top of the stack.
  if (rsp && !(rsp & 7) && on_known_stack(rsp, 8)) {
    uint64_t top = *reinterpret_cast<const uint64_t*>(rsp);
    bool framed = rbp && !(rbp & 7) && on_known_stack(rbp, 16) &&
                  reinterpret_cast<const uint64_t*>(rbp)[1] == top;
    if (!framed && looks_like_return(top)) {
      printf("  #%-2u ", depth++);
      print_address(top - 1);
    }
  }
  for (; depth < 32; ++depth) {
    if (rbp == 0 || (rbp & 7) || !on_known_stack(rbp, 16)) break;
    const uint64_t* frame = reinterpret_cast<const uint64_t*>(rbp);
    if (frame[1] == 0) break;
    printf("  #%-2u ", depth);
    // Return addresses point after the call; the call itself is one byte
    // earlier at least, which is what a symbolizer should look up.
    print_address(frame[1] - 1);
    rbp = frame[0];
  }
}

void dump_frame(const ExceptionFrame* f) {
  static const char names[16][4] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                    "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
  for (unsigned i = 0; i < 16; ++i)
    printf("%3s=%016lx%s", names[i], f->regs.gpr[i], (i % 4 == 3) ? "\n" : " ");
  printf("rip=%016lx rflags=%016lx cs=%04lx ss=%04lx\n", f->regs.rip, f->regs.rflags,
         f->regs.cs, f->regs.ss);
  printf("cr0=%016lx cr2=%016lx cr3=%016lx cr4=%016lx\n", cpu::read_cr0(), cpu::read_cr2(),
         cpu::read_cr3(), cpu::read_cr4());
  print_backtrace(f->regs.rip, f->regs[Gpr::rbp], f->regs[Gpr::rsp]);
}

SafeResult<uint64_t> rdmsr_safe(uint32_t msr) {
  uint32_t lo = 0, hi = 0;
  register uint64_t ex asm("r11") = 0;
  asm volatile("1: rdmsr\n2:\n" EX_TABLE_ENTRY("1b", "2b")
               : "+a"(lo), "+d"(hi), "+r"(ex)
               : "c"(msr));
  return {lo | uint64_t(hi) << 32, ExInfo::from_raw(ex)};
}

ExInfo wrmsr_safe(uint32_t msr, uint64_t value) {
  register uint64_t ex asm("r11") = 0;
  asm volatile("1: wrmsr\n2:\n" EX_TABLE_ENTRY("1b", "2b")
               : "+r"(ex)
               : "c"(msr), "a"(uint32_t(value)), "d"(uint32_t(value >> 32))
               : "memory");
  return ExInfo::from_raw(ex);
}

SafeResult<uint64_t> read_safe(const volatile void* addr) {
  uint64_t v = 0;
  register uint64_t ex asm("r11") = 0;
  asm volatile("1: movq (%2), %0\n2:\n" EX_TABLE_ENTRY("1b", "2b")
               : "+r"(v), "+r"(ex)
               : "r"(addr)
               : "memory");
  return {v, ExInfo::from_raw(ex)};
}

ExInfo write_safe(volatile void* addr, uint64_t value) {
  register uint64_t ex asm("r11") = 0;
  asm volatile("1: movq %1, (%2)\n2:\n" EX_TABLE_ENTRY("1b", "2b")
               : "+r"(ex)
               : "r"(value), "r"(addr)
               : "memory");
  return ExInfo::from_raw(ex);
}

SafeResult<uint8_t> read8_safe(const volatile void* addr) {
  uint8_t v = 0;
  register uint64_t ex asm("r11") = 0;
  asm volatile("1: movb (%2), %0\n2:\n" EX_TABLE_ENTRY("1b", "2b")
               : "+q"(v), "+r"(ex)
               : "r"(addr)
               : "memory");
  return {v, ExInfo::from_raw(ex)};
}

ExInfo write8_safe(volatile void* addr, uint8_t value) {
  register uint64_t ex asm("r11") = 0;
  asm volatile("1: movb %1, (%2)\n2:\n" EX_TABLE_ENTRY("1b", "2b")
               : "+r"(ex)
               : "q"(value), "r"(addr)
               : "memory");
  return ExInfo::from_raw(ex);
}

ExInfo write_cr4_safe(uint64_t value) {
  register uint64_t ex asm("r11") = 0;
  asm volatile("1: mov %1, %%cr4\n2:\n" EX_TABLE_ENTRY("1b", "2b")
               : "+r"(ex)
               : "r"(value)
               : "memory");
  return ExInfo::from_raw(ex);
}

ExInfo write_cr0_safe(uint64_t value) {
  register uint64_t ex asm("r11") = 0;
  asm volatile("1: mov %1, %%cr0\n2:\n" EX_TABLE_ENTRY("1b", "2b")
               : "+r"(ex)
               : "r"(value)
               : "memory");
  return ExInfo::from_raw(ex);
}

ExInfo xsetbv_safe(uint32_t index, uint64_t value) {
  register uint64_t ex asm("r11") = 0;
  asm volatile("1: xsetbv\n2:\n" EX_TABLE_ENTRY("1b", "2b")
               : "+r"(ex)
               : "c"(index), "a"(uint32_t(value)), "d"(uint32_t(value >> 32))
               : "memory");
  return ExInfo::from_raw(ex);
}

ExInfo invlpg_safe(const volatile void* addr) {
  register uint64_t ex asm("r11") = 0;
  asm volatile("1: invlpg (%1)\n2:\n" EX_TABLE_ENTRY("1b", "2b")
               : "+r"(ex)
               : "r"(addr)
               : "memory");
  return ExInfo::from_raw(ex);
}

ExInfo write_cr3_safe(uint64_t value) {
  register uint64_t ex asm("r11") = 0;
  asm volatile("1: mov %1, %%cr3\n2:\n" EX_TABLE_ENTRY("1b", "2b")
               : "+r"(ex)
               : "r"(value)
               : "memory");
  return ExInfo::from_raw(ex);
}

ExInfo invpcid_safe(uint64_t type, const void* descriptor) {
  register uint64_t ex asm("r11") = 0;
  asm volatile("1: invpcid (%2), %1\n2:\n" EX_TABLE_ENTRY("1b", "2b")
               : "+r"(ex)
               : "r"(type), "r"(descriptor)
               : "memory");
  return ExInfo::from_raw(ex);
}

void exceptions_init() {
  for (auto& h : handlers) h = nullptr;
  catcher() = nullptr;
}
