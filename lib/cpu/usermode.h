// Running test code at CPL3.
//
//   UserResult r = run_user([] { return *(volatile uint64_t*)p; });
//   report(r.ex == ExInfo(Vec::PF, kPfUser | kPfPresent), ...);
//
// run_user(fn, arg) runs fn(arg) at CPL3 on a stack of its own and comes
// back at CPL0 with either fn's return value or the fault that ended it
// (ExInfo, plus CR2 for #PF). Nothing the user code did stays behind: the
// mappings, CR4 and the gate are put back, and the caller's RFLAGS come
// back with it (nothing the user code set, AC, DF, TF, IOPL or IF, follows
// it out).
//
// How:
//  - The way out of a normal return is INT kUserReturnVector, whose gate is
//    DPL3 only while run_user runs; a fault at CPL3 goes through the
//    ordinary catch path (cpu/exceptions.h), which resumes at CPL0 with the
//    kernel selectors. Both land on the TSS RSP0 stack first (Intel SDM
//    vol.3 §6.12.1), so RSP0 must be set on the calling CPU.
//  - What CPL3 can touch: the whole test image (code, data, bss, and so the
//    boot stack main() runs on) gets US for the duration, with its other
//    attributes unchanged, and the user stack is fresh pages mapped US|RW|NX.
//    Anything else (heap memory, pages a test mapped) is supervisor-only
//    unless the test makes it user-accessible itself (paging::ScopedAttr).
//    A lambda passed to run_user must therefore live, with what it
//    captures, in the image or on the boot stack.
//  - Since kernel code then runs from user pages (the exception entry, the
//    return path), CR4.SMEP and CR4.SMAP are cleared for the duration and
//    restored after (SDM vol.3 §4.6). SMEP/SMAP tests check supervisor
//    accesses and need no CPL3 code. PKRU is left as the test set it.
//  - One run at a time (the state lives in one slot), on the CPU that calls.
#pragma once

#include <cstdint>
#include <type_traits>

#include "cpu/exceptions.h"

// The vector the user-mode trampoline raises to come back. Its handler is
// installed only while run_user runs, and ignores the vector from CPL0.
#define USER_RETURN_VECTOR 0x81
constexpr unsigned kUserReturnVector = USER_RETURN_VECTOR;
constexpr uint64_t kUserStackPages = 4;

struct [[nodiscard]] UserResult {
  uint64_t value = 0;  // fn's return value, when it returned
  ExInfo ex;           // the fault that ended it, else none
  uint64_t cr2 = 0;    // CR2 at a #PF
  constexpr bool ok() const { return !ex.faulted(); }
};

using UserFn = uint64_t (*)(void* arg);
UserResult run_user(UserFn fn, void* arg);

// Any callable returning an integer or void (void comes back as value 0).
template <typename F>
UserResult run_user(F&& f) {
  using Fn = std::remove_reference_t<F>;
  UserFn tramp = [](void* p) -> uint64_t {
    Fn& g = *static_cast<Fn*>(p);
    if constexpr (std::is_void_v<decltype(g())>) {
      g();
      return 0;
    } else {
      return static_cast<uint64_t>(g());
    }
  };
  return run_user(tramp, const_cast<void*>(static_cast<const volatile void*>(&f)));
}

// Compatibility mode at CPL3: 32-bit code in long mode (Intel SDM vol.3
// §2.2, AMD APM vol.2 §1.2.2), for instructions whose behaviour there
// differs from 64-bit mode.
//
//   UserResult r = run_user_compat(uint32_t(code32_addr), CompatRegs{.ebx = ptr});
//
// From 64-bit user mode, DS and ES get desc::kUserDs (the IRET to CPL3
// left them null, which compatibility mode cannot use), the registers are
// loaded from `regs`, ESP included, and a far jump enters desc::kUserCs32
// at `entry`. The 32-bit code ends like run_user's function, by INT
// kUserReturnVector (value = EAX, zero-extended) or by a fault; it may also
// leave compatibility mode itself (by far jump or SYSRET) as long as it ends
// that way. The code, its stack and everything it addresses must lie below
// 4 GiB, in memory CPL3 may use (the test image, while it runs: see above);
// run_user_compat aborts if the image lies above 4 GiB. Like run_user, call
// it from the boot stack: `regs` is copied there for the CPL3 side.
struct CompatRegs {
  uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0, esi = 0, edi = 0, ebp = 0, esp = 0;
};
UserResult run_user_compat(uint32_t entry, const CompatRegs& regs);
// True when [p, p + size) lies below 4 GiB, as 32-bit code needs.
bool below_4g(const void* p, uint64_t size);
