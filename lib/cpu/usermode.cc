// CPL3 runs; the contract is in usermode.h.
#include "cpu/usermode.h"

#include <cstddef>

#include "cpu/desc.h"
#include "cpu/fatal.h"
#include "cpu/processor.h"
#include "cpu/regs.h"
#include "mem/memory.h"
#include "mem/paging.h"

extern "C" char __image_base[], __image_end[];

// The first user-mode instructions: call fn(arg) with the SysV ABI (RSP is
// 16-byte aligned before the call), then hand the return value in RAX to the
// return gate. RBP is 0 so that a backtrace of a user fault stops here.
#define STR2(x) #x
#define STR(x) STR2(x)
#define USER_DS 0x23
static_assert(USER_DS == desc::kUserDs);
asm(".text\n"
    ".type user_entry, @function\n"
    "user_entry:\n"
    "  xor %ebp, %ebp\n"
    "  call *%rsi\n"
    "  int $" STR(USER_RETURN_VECTOR) "\n"
    "  ud2\n"
    ".size user_entry, . - user_entry\n");
extern "C" char user_entry[];

// The 64-bit CPL3 function of run_user_compat (SysV: RDI = const
// CompatRegs*). The far pointer is m16:32 (far JMP, SDM vol.2A "JMP"),
// stored before the run; every register, ESP too, is loaded first, since
// nothing runs in 64-bit mode after the jump.
asm(".text\n"
    ".type user_enter_compat, @function\n"
    "user_enter_compat:\n"
    "  mov $" STR(USER_DS) ", %eax\n"
    "  mov %eax, %ds\n"
    "  mov %eax, %es\n"
    "  mov 4(%rdi), %ebx\n"
    "  mov 8(%rdi), %ecx\n"
    "  mov 12(%rdi), %edx\n"
    "  mov 16(%rdi), %esi\n"
    "  mov 24(%rdi), %ebp\n"
    "  mov 28(%rdi), %esp\n"
    "  mov 0(%rdi), %eax\n"
    "  mov 20(%rdi), %edi\n"
    "  ljmpl *user_compat_target(%rip)\n"
    ".size user_enter_compat, . - user_enter_compat\n");
extern "C" char user_enter_compat[];

struct [[gnu::packed]] FarPointer32 {
  uint32_t offset;
  uint16_t selector;
};
extern "C" {
constinit FarPointer32 user_compat_target{};
}

static_assert(offsetof(CompatRegs, eax) == 0 && offsetof(CompatRegs, ebx) == 4 &&
              offsetof(CompatRegs, ecx) == 8 && offsetof(CompatRegs, edx) == 12 &&
              offsetof(CompatRegs, esi) == 16 && offsetof(CompatRegs, edi) == 20 &&
              offsetof(CompatRegs, ebp) == 24 && offsetof(CompatRegs, esp) == 28);

namespace {

// Flags the user code must not hand to the code after the run.
constexpr uint64_t kUserOnlyFlags =
    rflags::kTrap | rflags::kDirection | rflags::kNested | rflags::kAlignmentCheck;
constexpr unsigned kCplMask = 3;

struct Run {
  FaultCatcher catcher;
  uint64_t value;
  bool returned;
};
constinit Run* active = nullptr;

bool user_return(ExceptionFrame* f) {
  if (!active || (f->regs.cs & kCplMask) != 3) return false;
  active->value = f->regs[Gpr::rax];
  active->returned = true;
  // The same way back as a caught fault (resume_catcher in exceptions.cc):
  // "return" from the interrupt into longjmp at CPL0.
  f->regs.rip = reinterpret_cast<uint64_t>(&longjmp);
  f->regs[Gpr::rdi] = reinterpret_cast<uint64_t>(&active->catcher.buf);
  f->regs[Gpr::rsi] = 1;
  f->regs.cs = desc::kKernelCs;
  f->regs.ss = desc::kKernelDs;
  f->regs.rflags &= ~kUserOnlyFlags;
  f->regs[Gpr::rsp] = active->catcher.buf.regs[6] - 64;
  return true;
}

[[noreturn]] void enter_user(UserFn fn, void* arg, uint64_t rsp, uint64_t rflags) {
  // IRETQ to an outer privilege level pops RIP, CS, RFLAGS, RSP and SS
  // (SDM vol.2 "IRET", 64-bit mode).
  asm volatile(
      "pushq %[ss]\n"
      "pushq %[rsp]\n"
      "pushq %[fl]\n"
      "pushq %[cs]\n"
      "pushq %[rip]\n"
      "iretq\n"
      :
      : [ss] "i"(uint64_t(desc::kUserDs)), [rsp] "r"(rsp), [fl] "r"(rflags),
        [cs] "i"(uint64_t(desc::kUserCs)), [rip] "r"(reinterpret_cast<uint64_t>(user_entry)),
        "D"(arg), "S"(fn)
      : "memory");
  __builtin_unreachable();
}

void reload_kernel_data_segments() {
  // IRET to CPL3 nulls DS and ES, which held a DPL0 selector (SDM vol.2
  // "IRET", RETURN-TO-OUTER-PRIVILEGE-LEVEL). Harmless in 64-bit mode, but
  // code after the run should find the segments as boot left them.
  asm volatile("mov %0, %%ds\n mov %0, %%es" ::"r"(uint32_t(desc::kKernelDs)) : "memory");
}

// One level down so that setjmp's frame is this function's, which lives
// until the run is over; the mappings and CR4 are handled by the caller.
__attribute__((noinline)) void run_at_cpl3(Run* run, UserFn fn, void* arg, uint64_t stack_top) {
  const uint64_t rflags =
      (cpu::read_rflags() & ~(kUserOnlyFlags | rflags::kIopl)) | rflags::kFixed1;
  const uint64_t caller_rflags = cpu::read_rflags();
  fault_catcher_push(&run->catcher);
  if (setjmp(&run->catcher.buf) == 0) enter_user(fn, arg, stack_top, rflags);
  fault_catcher_pop(&run->catcher);
  // The way back takes RFLAGS from the CPL3 frame, where IOPL and IF may
  // have come from a SYSRET's R11 or a POPF at IOPL 3.
  cpu::write_rflags(caller_rflags);
}

}  // namespace

UserResult run_user(UserFn fn, void* arg) {
  if (active) cpu::fatal("run_user: nested or concurrent call");

  mem::PageResult stack = mem::alloc_pages(kUserStackPages);
  if (!stack.ok())
    cpu::fatal("run_user: no pages for the user stack: %s", mem::alloc_error_str(stack.error));
  const uint64_t stack_bytes = kUserStackPages * kPageSize;
  const uint64_t image = reinterpret_cast<uint64_t>(__image_base);
  const uint64_t image_end = VirtAddr(__image_end).align_up(kPageSize).value;

  Run run{};
  UserResult out;
  {
    auto make_user = [](paging::Attr a) {
      a.user = true;
      return a;
    };
    paging::ScopedAttr image_user(VirtAddr(image), image_end - image, make_user);
    paging::ScopedAttr stack_user(VirtAddr(stack.pa.value), stack_bytes, [](paging::Attr a) {
      a.user = true;
      a.write = true;
      a.nx = true;
      return a;
    });
    if (!image_user.ok() || !stack_user.ok())
      cpu::fatal("run_user: cannot make the image and stack user-accessible: %s",
                 paging::map_status_str(image_user.ok() ? stack_user.status()
                                                        : image_user.status()));

    const uint64_t cr4 = cpu::read_cr4();
    if (cr4 & (cpu::cr4::SMEP | cpu::cr4::SMAP))
      cpu::write_cr4(cr4 & ~(cpu::cr4::SMEP | cpu::cr4::SMAP));
    ScopedHandler h(kUserReturnVector, user_return);
    desc::set_gate_dpl(kUserReturnVector, 3);
    active = &run;

    run_at_cpl3(&run, fn, arg, stack.pa.value + stack_bytes);

    active = nullptr;
    desc::set_gate_dpl(kUserReturnVector, 0);
    reload_kernel_data_segments();
    if (cpu::read_cr4() != cr4) cpu::write_cr4(cr4);

    if (run.returned) {
      out.value = run.value;
    } else {
      out.ex = run.catcher.info;
      out.cr2 = run.catcher.cr2;
    }
  }
  if (mem::AllocError e = mem::free_pages(stack.pa, kUserStackPages); e != mem::AllocError::none)
    cpu::fatal("run_user: freeing the user stack failed: %s", mem::alloc_error_str(e));
  return out;
}

bool below_4g(const void* p, uint64_t size) {
  const uint64_t a = reinterpret_cast<uint64_t>(p);
  return a + size >= a && a + size <= (1ull << 32);
}

UserResult run_user_compat(uint32_t entry, const CompatRegs& regs) {
  if (!below_4g(__image_base, __image_end - __image_base))
    cpu::fatal("run_user_compat: the image lies above 4 GiB");
  user_compat_target = {entry, desc::kUserCs32};
  CompatRegs copy = regs;
  UserResult r = run_user(reinterpret_cast<UserFn>(user_enter_compat), &copy);
  r.value = uint32_t(r.value);
  return r;
}
