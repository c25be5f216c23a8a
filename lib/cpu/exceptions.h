// Exceptions as values.
//
// A fault that a test provokes on purpose comes back as an ExInfo {vector,
// error code}, never through a global flag the test could forget to clear.
// Three ways to get one:
//
//  1. `*_safe` helpers (rdmsr_safe, wrmsr_safe, read_safe, write_safe, ...)
//     built on the exception table: a PC-relative entry marks one instruction
//     whose fault resumes at a fixup with the packed ExInfo in %r11.
//
//  2. catch_fault(f): runs any callable; a fault inside it unwinds back out
//     (setjmp/longjmp through the exception frame) and is returned. The
//     catcher is scoped: it is removed when catch_fault returns, whether or
//     not f faulted, so nothing leaks into the next check.
//
//       ExInfo ex = catch_fault([] { asm volatile("ud2"); });
//       report(ex == ExInfo(Vec::UD), "ud2 raises #UD");
//
//  3. ScopedHandler: a per-vector handler for the lifetime of an object, the
//     previous handler restored on destruction (for interrupts and for tests
//     that want to resume execution themselves).
//
// Anything else is an unexpected exception, and what becomes of it is the
// runtime's policy, not this layer's: see set_unexpected_exception_handler.
#pragma once

#include <cstdint>

#include "cpu/regs.h"

enum class Vec : uint8_t {
  DE = 0, DB = 1, NMI = 2, BP = 3, OF = 4, BR = 5, UD = 6, NM = 7,
  DF = 8, TS = 10, NP = 11, SS = 12, GP = 13, PF = 14, MF = 16,
  AC = 17, MC = 18, XM = 19, VE = 20, CP = 21, HV = 28, VC = 29, SX = 30,
};

// "#GP" etc., or "vector 0x40" style for others (static storage).
const char* vector_name(unsigned vector);
// True for the architectural exceptions that push an error code.
constexpr bool vector_has_error_code(unsigned v) {
  return v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21 || v == 29 || v == 30;
}

struct ExInfo {
  // Packed as the exception-table fixup delivers it in %r11: bit 63 says a
  // fault happened, bits 15:0 the vector, bits 47:16 the error code.
  uint64_t raw = 0;

  static constexpr uint64_t kValid = 1ull << 63;

  constexpr ExInfo() = default;
  constexpr explicit ExInfo(Vec v, uint32_t error_code = 0)
      : raw(kValid | uint64_t(error_code) << 16 | static_cast<uint8_t>(v)) {}
  static constexpr ExInfo from_raw(uint64_t r) {
    ExInfo e;
    e.raw = r;
    return e;
  }
  static constexpr ExInfo make(unsigned vector, uint32_t error_code) {
    return from_raw(kValid | uint64_t(error_code) << 16 | (vector & 0xff));
  }

  constexpr bool faulted() const { return raw & kValid; }
  constexpr explicit operator bool() const { return faulted(); }
  constexpr unsigned vector() const { return raw & 0xffff; }
  constexpr uint32_t error_code() const { return uint32_t(raw >> 16); }
  constexpr bool operator==(const ExInfo&) const = default;
};

// Formats "none" or "#GP(0x0)" into buf; returns buf.
const char* exinfo_str(ExInfo e, char* buf, unsigned size);

// The frame built by lib/cpu/isr.S.
struct ExceptionFrame {
  Regs regs;
  uint64_t vector;
  uint64_t error_code;
};
static_assert(sizeof(ExceptionFrame) == kRegsSize + 16);

// Returns true when it handled the exception (the frame may have been
// changed to resume elsewhere); false passes it on to the default handling.
using ExceptionHandler = bool (*)(ExceptionFrame* frame);

ExceptionHandler set_exception_handler(unsigned vector, ExceptionHandler h);

class ScopedHandler {
 public:
  ScopedHandler(unsigned vector, ExceptionHandler h)
      : vector_(vector), prev_(set_exception_handler(vector, h)) {}
  ~ScopedHandler() { set_exception_handler(vector_, prev_); }
  ScopedHandler(const ScopedHandler&) = delete;
  ScopedHandler& operator=(const ScopedHandler&) = delete;

 private:
  unsigned vector_;
  ExceptionHandler prev_;
};

// setjmp/longjmp (lib/cpu/isr.S): rbx, rbp, r12-r15, rsp, rip.
struct JmpBuf {
  uint64_t regs[8];
};
extern "C" int setjmp(JmpBuf* buf) __attribute__((returns_twice));
extern "C" [[noreturn]] void longjmp(JmpBuf* buf, int value);

// One level of catch_fault; they nest.
struct FaultCatcher {
  JmpBuf buf;
  ExInfo info;
  FaultCatcher* prev;
  uint64_t cr2;  // CR2 at the fault, for #PF
};
void fault_catcher_push(FaultCatcher* c);
void fault_catcher_pop(FaultCatcher* c);

// The catcher lives in this frame, and setjmp must be called from the frame
// that stays live while f runs, so both are here in the caller's template.
template <typename F>
[[nodiscard]] __attribute__((noinline)) ExInfo catch_fault(F&& f) {
  FaultCatcher c{};
  fault_catcher_push(&c);
  if (setjmp(&c.buf) == 0) f();
  fault_catcher_pop(&c);
  return c.info;
}

// Exception-table entry: the faulting instruction and its fixup, both as
// offsets from the entry itself so the table needs no relocation.
#define EX_TABLE_ENTRY(insn, fixup)  \
  ".pushsection .ex_table, \"a\"\n"  \
  ".balign 4\n"                      \
  ".long " insn " - .\n"             \
  ".long " fixup " - .\n"            \
  ".popsection\n"

// *_safe helpers: the value, or the fault.
template <typename T>
struct [[nodiscard]] SafeResult {
  T value;
  ExInfo ex;
  constexpr bool ok() const { return !ex.faulted(); }
};

SafeResult<uint64_t> rdmsr_safe(uint32_t msr);
ExInfo wrmsr_safe(uint32_t msr, uint64_t value);
SafeResult<uint64_t> read_safe(const volatile void* addr);   // 8-byte read
ExInfo write_safe(volatile void* addr, uint64_t value);      // 8-byte write
SafeResult<uint8_t> read8_safe(const volatile void* addr);
ExInfo write8_safe(volatile void* addr, uint8_t value);
ExInfo write_cr4_safe(uint64_t value);
ExInfo write_cr0_safe(uint64_t value);
ExInfo xsetbv_safe(uint32_t index, uint64_t value);
ExInfo invlpg_safe(const volatile void* addr);
ExInfo write_cr3_safe(uint64_t value);
// INVPCID with a raw type, so that invalid types can be tried too.
ExInfo invpcid_safe(uint64_t type, const void* descriptor);

// Called by the boot code before the IDT is live. Keeps the unexpected-
// exception handler.
void exceptions_init();

// An exception that no per-vector handler, exception-table fixup or
// catch_fault took. The runtime installs the policy (lib/rt/fault_policy.h:
// the vector, registers and backtrace printed, a FAIL reported, the test
// ended). `depth` is 1 for the first unexpected exception on this CPU and
// 2 for one raised while the handler runs, so that its nested path can say
// less. The handler must not return.
//
// Without a handler, or when it returns, or at depth 3, the cpu layer stops
// by itself, in bounded time: one FATAL line and (at depth 1) the register
// dump and backtrace to the fault output (lib/cpu/backtrace.h), then
// shut_down().
using UnexpectedExceptionHandler = void (*)(ExceptionFrame* frame, unsigned depth);
UnexpectedExceptionHandler set_unexpected_exception_handler(UnexpectedExceptionHandler h);

// Shuts the machine down by a triple fault: the way this layer ends a guest
// that it cannot hand to any policy. The runner sees CRASH.
[[noreturn]] void shut_down();
