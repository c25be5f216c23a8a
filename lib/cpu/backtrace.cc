#include "cpu/backtrace.h"

#include <cstdarg>

#include "cpu/desc.h"
#include "cpu/exceptions.h"
#include "cpu/processor.h"
#include "rt/format.h"

extern "C" char __image_base[], __image_end[], __text_start[], __text_end[];

namespace {

constinit TextSink fault_sink = nullptr;

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

void print_address(TextSink out, uint64_t a) {
  const uint64_t base = reinterpret_cast<uint64_t>(__image_base);
  if (a >= base && a < reinterpret_cast<uint64_t>(__image_end))
    sink_printf(out, "0x%016lx image+0x%lx\n", a, a - base);
  else
    sink_printf(out, "0x%016lx\n", a);
}

// True when `ret` looks like a return address into our code: inside .text
// and preceded by a CALL rel32 (E8) or an indirect CALL through a register
// or memory (FF /2, 2 to 7 bytes long).
bool looks_like_return(uint64_t ret) {
  const uint64_t lo = reinterpret_cast<uint64_t>(__text_start) + 8;
  if (ret < lo || ret >= reinterpret_cast<uint64_t>(__text_end)) return false;
  const uint8_t* p = reinterpret_cast<const uint8_t*>(ret);
  if (p[-5] == 0xe8) return true;
  for (int len = 2; len <= 7; ++len)
    if (p[-len] == 0xff && ((p[-len + 1] >> 3) & 7) == 2) return true;
  return false;
}

}  // namespace

void set_fault_output(TextSink out) { fault_sink = out; }
TextSink fault_output() { return fault_sink; }

void sink_printf(TextSink out, const char* fmt, ...) {
  if (!out) return;
  char line[256];
  va_list ap;
  va_start(ap, fmt);
  const int n = rt::vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  if (n <= 0) return;
  out(line, static_cast<size_t>(n) < sizeof(line) ? static_cast<size_t>(n) : sizeof(line) - 1);
}

void register_stack(const void* lo, const void* hi) {
  if (nstacks < sizeof(stacks) / sizeof(stacks[0]))
    stacks[nstacks++] = {reinterpret_cast<uint64_t>(lo), reinterpret_cast<uint64_t>(hi)};
}

void print_backtrace(TextSink out, uint64_t rip, uint64_t rbp, uint64_t rsp) {
  if (!out) return;
  sink_printf(out, "Backtrace:\n  #0  ");
  print_address(out, rip);
  unsigned depth = 1;
  // A leaf function may run without a frame of its own (GCC sets none up
  // when it needs no stack), so its caller is only visible as the return
  // address on top of the stack.
  if (rsp && !(rsp & 7) && on_known_stack(rsp, 8)) {
    uint64_t top = *reinterpret_cast<const uint64_t*>(rsp);
    bool framed = rbp && !(rbp & 7) && on_known_stack(rbp, 16) &&
                  reinterpret_cast<const uint64_t*>(rbp)[1] == top;
    if (!framed && looks_like_return(top)) {
      sink_printf(out, "  #%-2u ", depth++);
      print_address(out, top - 1);
    }
  }
  for (; depth < 32; ++depth) {
    if (rbp == 0 || (rbp & 7) || !on_known_stack(rbp, 16)) break;
    const uint64_t* frame = reinterpret_cast<const uint64_t*>(rbp);
    if (frame[1] == 0) break;
    sink_printf(out, "  #%-2u ", depth);
    // Return addresses point after the call; the call itself is one byte
    // earlier at least, which is what a symbolizer should look up.
    print_address(out, frame[1] - 1);
    rbp = frame[0];
  }
}

void dump_frame(TextSink out, const ExceptionFrame* f) {
  if (!out) return;
  static const char names[16][4] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                    "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
  for (unsigned i = 0; i < 16; ++i)
    sink_printf(out, "%3s=%016lx%s", names[i], f->regs.gpr[i], (i % 4 == 3) ? "\n" : " ");
  sink_printf(out, "rip=%016lx rflags=%016lx cs=%04lx ss=%04lx\n", f->regs.rip, f->regs.rflags,
              f->regs.cs, f->regs.ss);
  sink_printf(out, "cr0=%016lx cr2=%016lx cr3=%016lx cr4=%016lx\n", cpu::read_cr0(),
              cpu::read_cr2(), cpu::read_cr3(), cpu::read_cr4());
  print_backtrace(out, f->regs.rip, f->regs[Gpr::rbp], f->regs[Gpr::rsp]);
}
