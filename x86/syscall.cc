// syscall: the fast system-call instructions SYSCALL/SYSRET and
// SYSENTER/SYSEXIT move between CPL3 and CPL0 with exactly the state the
// manuals define, and fault where they say, following the CPUID vendor
// where Intel and AMD differ. SYSCALL saves the next RIP in RCX and RFLAGS
// in R11, clears the RFLAGS bits set in SFMASK, enters at LSTAR from 64-bit
// mode (CSTAR from compatibility mode, AMD only: Intel raises #UD there),
// loads CS = STAR[47:32] & ~3 and SS = STAR[47:32] + 8 and leaves RSP alone;
// SYSRET loads RIP from RCX (EIP from ECX for a 32-bit SYSRET), RFLAGS from
// R11, CS = STAR[63:48] + 16 (64-bit) or STAR[63:48] (compatibility) and
// SS = STAR[63:48] + 8, both with RPL 3, a flat 64-bit or 32-bit code
// segment and a 32-bit stack segment (Intel SDM vol.2B "SYSCALL", "SYSRET";
// vol.3 §5.8.8; AMD APM vol.2 §6.1.1, vol.3 "SYSCALL", "SYSRET"). Both
// raise #UD with EFER.SCE clear, and SYSRET #GP(0) at CPL3 (Intel: #UD in
// compatibility mode, where it is not recognised). SYSRET to a
// non-canonical RCX is where the vendors part: Intel checks RCX first and
// raises #GP(0) at CPL0 on the kernel's own stack with nothing changed
// (SDM "SYSRET", operation and 64-bit mode exceptions), AMD has no such
// check, so the return completes and the fetch at the non-canonical RIP
// faults at CPL3, delivered on the TSS RSP0 stack (APM vol.3 "SYSRET",
// vol.2 §8.9). SYSENTER/SYSEXIT, with CPUID.1:EDX[11] SEP, work in long
// mode on Intel, entering at IA32_SYSENTER_EIP/ESP with CS from
// IA32_SYSENTER_CS and leaving to CS + 32 (64-bit) or CS + 16
// (compatibility) at RDX/RCX (SDM vol.2B "SYSENTER", "SYSEXIT"); AMD makes
// both #UD in long mode (APM vol.3 "SYSENTER", "SYSEXIT"). Segment
// attributes are checked where the code can see them: the operating mode
// (64-bit, 32-bit) after each transition and the 32-bit stack (SS.B) after
// a return to compatibility mode. Where QEMU's TCG differs (it loses the
// arithmetic flags on SYSCALL and follows AMD where Intel differs) the
// check is an XFAIL that says what TCG does. Every MSR, EFER and the GDT
// slot used are restored at the end.
#include <cstddef>
#include <cstdint>

#include "cpu/desc.h"
#include "cpu/exceptions.h"
#include "cpu/processor.h"
#include "cpu/regs.h"
#include "cpu/usermode.h"
#include "rt/expect.h"
#include "rt/report.h"

namespace {

// What the entry points and the CPL3 code saw, and how the entry points
// return; shared with the assembly below, hence the fixed offsets.
struct Trace {
  // Written by the CPL0 entry points.
  uint64_t entry;  // which one ran (kEntry*), 0 = none
  uint64_t rcx, r11, rflags, rsp, cs, ss;
  uint64_t mode;  // the operating-mode probe: 0 in 64-bit mode
  // Read by them: how to return, 0 = leave the register as it is.
  uint64_t ret_kind;  // kRet*
  uint64_t ret_rcx, ret_r11, ret_set_r11, ret_rsp, ret_rdx;
  // The CPL3 side.
  uint64_t flags_in;      // loaded into RFLAGS before the instruction
  uint64_t before_flags;  // RFLAGS just before it
  uint64_t before_rsp;    // RSP just before it (or the RSP asked for)
  uint64_t after_flags, after_cs, after_ss, after_rsp;
  uint64_t after_mode;  // the mode probe after the return
};

#define T_ENTRY "0x00"
#define T_RCX "0x08"
#define T_R11 "0x10"
#define T_RFLAGS "0x18"
#define T_RSP "0x20"
#define T_CS "0x28"
#define T_SS "0x30"
#define T_MODE "0x38"
#define T_RET_KIND "0x40"
#define T_RET_RCX "0x48"
#define T_RET_R11 "0x50"
#define T_RET_SET_R11 "0x58"
#define T_RET_RSP "0x60"
#define T_RET_RDX "0x68"
#define T_FLAGS_IN "0x70"
#define T_BEFORE_FLAGS "0x78"
#define T_BEFORE_RSP "0x80"
#define T_AFTER_FLAGS "0x88"
#define T_AFTER_CS "0x90"
#define T_AFTER_SS "0x98"
#define T_AFTER_RSP "0xa0"
#define T_AFTER_MODE "0xa8"
static_assert(offsetof(Trace, entry) == 0x00 && offsetof(Trace, mode) == 0x38);
static_assert(offsetof(Trace, ret_kind) == 0x40 && offsetof(Trace, ret_rdx) == 0x68);
static_assert(offsetof(Trace, flags_in) == 0x70 && offsetof(Trace, after_mode) == 0xa8);

constexpr uint64_t kEntryLstar = 1, kEntryCstar = 2, kEntrySysenter = 3;
constexpr uint64_t kRetSysretq = 0, kRetSysretl = 1, kRetSysexitq = 2, kRetSysexitl = 3;

// The mode probe: 48 is REX.W (then 90 is a NOP) in 64-bit mode and
// DEC EAX in 32-bit mode (SDM vol.2A §2.2.1), so EAX ends 0 or 0xffffffff;
// in a 16-bit segment it would be 0xffff.
constexpr uint64_t kMode64 = 0, kMode32 = 0xffffffff;
constexpr uint32_t kCompatDone = 0x32;

}  // namespace

extern "C" {
constinit Trace syscall_trace{};
alignas(16) constinit uint8_t syscall_handler_stack[4096]{};
}

#define STR2(x) #x
#define STR(x) STR2(x)
#define T(off) "syscall_trace+" off "(%rip)"
#define MODE_PROBE "xor %eax, %eax\n .byte 0x48\n nop\n"

// CPL0 entry points. Each records what it was entered with, on a stack of
// its own (the entry RSP may be a compatibility-mode ESP with undefined
// upper bits), points RBX at the trace for the CPL3 code, and returns the
// way ret_kind says. Nothing before the pushfq may change RFLAGS.
asm(".text\n"
    ".globl syscall_lstar_entry, syscall_cstar_entry, sysenter_entry, syscall_sysretq_insn\n"
    "syscall_lstar_entry:\n"
    "  movq $" STR(1) ", " T(T_ENTRY) "\n"
    "  jmp 1f\n"
    "syscall_cstar_entry:\n"
    "  movq $" STR(2) ", " T(T_ENTRY) "\n"
    "  jmp 1f\n"
    "sysenter_entry:\n"
    "  movq $" STR(3) ", " T(T_ENTRY) "\n"
    "1:\n"
    "  mov %rsp, " T(T_RSP) "\n"
    "  lea syscall_handler_stack+4096(%rip), %rsp\n"
    "  mov %rcx, " T(T_RCX) "\n"
    "  mov %r11, " T(T_R11) "\n"
    "  pushfq\n"
    "  popq " T(T_RFLAGS) "\n"
    "  mov %cs, " T(T_CS) "\n"
    "  mov %ss, " T(T_SS) "\n"
    MODE_PROBE
    "  mov %rax, " T(T_MODE) "\n"
    "  lea syscall_trace(%rip), %rbx\n"
    "  mov " T(T_RET_RCX) ", %rax\n"
    "  test %rax, %rax\n"
    "  jz 2f\n"
    "  mov %rax, %rcx\n"
    "2:\n"
    "  cmpq $0, " T(T_RET_SET_R11) "\n"
    "  je 3f\n"
    "  mov " T(T_RET_R11) ", %r11\n"
    "3:\n"
    "  mov " T(T_RET_RDX) ", %rax\n"
    "  test %rax, %rax\n"
    "  jz 4f\n"
    "  mov %rax, %rdx\n"
    "4:\n"
    "  mov " T(T_RET_KIND) ", %rax\n"
    "  cmpq $0, " T(T_RET_RSP) "\n"
    "  je 5f\n"
    "  mov " T(T_RET_RSP) ", %rsp\n"
    "  jmp 6f\n"
    "5:\n"
    "  mov " T(T_RSP) ", %rsp\n"
    "6:\n"
    "  cmp $" STR(1) ", %rax\n"
    "  je 7f\n"
    "  cmp $" STR(2) ", %rax\n"
    "  je 8f\n"
    "  cmp $" STR(3) ", %rax\n"
    "  je 9f\n"
    "syscall_sysretq_insn:\n"
    "  sysretq\n"
    "7: sysretl\n"
    "8: .byte 0x48, 0x0f, 0x35\n"  // SYSEXIT with REX.W: to 64-bit mode
    "9: .byte 0x0f, 0x35\n"  // SYSEXIT: to compatibility mode
    // A SYSRET that should have faulted at CPL0 lands here at CPL3, on a
    // supervisor page: #PF, caught like any fault.
    ".globl sysret_trap\n"
    "sysret_trap: ud2\n");

// CPL3 64-bit code, run_user functions (RDI = &syscall_trace): RBX holds
// the trace throughout (the entry points set it again) and R12 the stack
// pointer to return on.
#define USER_PROLOGUE       \
  "  push %rbx\n"           \
  "  push %r12\n"           \
  "  mov %rdi, %rbx\n"      \
  "  mov %rsp, %r12\n"      \
  "  pushq " T_FLAGS_IN "(%rbx)\n" \
  "  popfq\n"               \
  "  pushfq\n"              \
  "  popq " T_BEFORE_FLAGS "(%rbx)\n"
#define USER_EPILOGUE                    \
  "  pushfq\n"                           \
  "  popq " T_AFTER_FLAGS "(%rbx)\n"     \
  "  mov %rsp, " T_AFTER_RSP "(%rbx)\n"  \
  "  mov %cs, " T_AFTER_CS "(%rbx)\n"    \
  "  mov %ss, " T_AFTER_SS "(%rbx)\n"    \
  MODE_PROBE                             \
  "  mov %rax, " T_AFTER_MODE "(%rbx)\n" \
  "  mov %r12, %rsp\n"                   \
  "  pushq $2\n"                         \
  "  popfq\n"                            \
  "  xor %eax, %eax\n"                   \
  "  pop %r12\n"                         \
  "  pop %rbx\n"                         \
  "  ret\n"
asm(".text\n"
    ".globl user_syscall64, user_syscall64_next, user_syscall64_resume\n"
    "user_syscall64:\n"
    USER_PROLOGUE
    "  mov %rsp, " T_BEFORE_RSP "(%rbx)\n"
    "  syscall\n"
    // The entry points return past the UD2, to show RIP comes from RCX.
    "user_syscall64_next: ud2\n"
    "user_syscall64_resume:\n"
    USER_EPILOGUE
    ".globl user_sysenter64, user_sysenter64_resume\n"
    "user_sysenter64:\n"
    USER_PROLOGUE
    "  lea user_sysenter64_resume(%rip), %rdx\n"
    "  lea -0x40(%rsp), %rcx\n"
    "  mov %rcx, " T_BEFORE_RSP "(%rbx)\n"
    "  sysenter\n"
    "  ud2\n"
    "user_sysenter64_resume:\n"
    USER_EPILOGUE
    // Instructions expected to fault at CPL3; should one not, it comes back
    // here and the run returns normally.
    ".globl user_try_syscall, user_try_sysretq, user_try_sysenter, user_try_sysexitq\n"
    "user_try_syscall:\n"
    "  push %rbx\n"
    "  syscall\n"
    "  pop %rbx\n"
    "  ret\n"
    "user_try_sysretq:\n"
    "  lea 1f(%rip), %rcx\n"
    "  pushfq\n"
    "  pop %r11\n"
    "  sysretq\n"
    "1: ret\n"
    "user_try_sysenter:\n"
    "  push %rbx\n"
    "  lea 1f(%rip), %rdx\n"
    "  mov %rsp, %rcx\n"
    "  sysenter\n"
    "1: pop %rbx\n"
    "  ret\n"
    "user_try_sysexitq:\n"
    "  lea 1f(%rip), %rdx\n"
    "  mov %rsp, %rcx\n"
    "  .byte 0x48, 0x0f, 0x35\n"
    "1: ret\n");

// CPL3 compatibility-mode code (EBX = &syscall_trace, below 4 GiB). It
// ends with INT kUserReturnVector, EAX = kCompatDone.
asm(".text\n"
    ".code32\n"
    ".globl compat_landing\n"
    // Where a return to compatibility mode lands: SYSRET or SYSEXIT with
    // the stack pointer on a 64 KiB boundary, so a 16-bit stack would wrap.
    "compat_landing:\n"
    "  pushfl\n"
    "  mov %esp, %ss:" T_AFTER_RSP "(%ebx)\n"
    "  mov %ss, %eax\n"
    "  mov %eax, %ds\n"
    "  mov %eax, %es\n"
    "  popl " T_AFTER_FLAGS "(%ebx)\n"
    "  mov %cs, " T_AFTER_CS "(%ebx)\n"
    "  mov %ss, " T_AFTER_SS "(%ebx)\n"
    MODE_PROBE
    "  mov %eax, " T_AFTER_MODE "(%ebx)\n"
    "  mov $" STR(0x32) ", %eax\n"
    "  int $" STR(USER_RETURN_VECTOR) "\n"
    "  ud2\n"
    ".globl compat_syscall, compat_syscall_next\n"
    "compat_syscall:\n"
    "  pushl " T_FLAGS_IN "(%ebx)\n"
    "  popfl\n"
    "  pushfl\n"
    "  popl " T_BEFORE_FLAGS "(%ebx)\n"
    "  mov %esp, " T_BEFORE_RSP "(%ebx)\n"
    "  syscall\n"
    "compat_syscall_next:\n"
    "  ud2\n"
    // ECX: where a SYSRET that should fault would go (compat_done).
    ".globl compat_try_sysret, compat_try_sysenter, compat_try_sysexit, compat_done\n"
    "compat_try_sysret:\n"
    "  sysretl\n"
    // EDX/ECX: the landing and its stack, for a SYSENTER that works.
    "compat_try_sysenter:\n"
    "  sysenter\n"
    "  ud2\n"
    "compat_try_sysexit:\n"
    "  sysexit\n"
    "compat_done:\n"
    "  mov $" STR(0x32) ", %eax\n"
    "  int $" STR(USER_RETURN_VECTOR) "\n"
    "  ud2\n"
    ".code64\n");

extern "C" char syscall_lstar_entry[], syscall_cstar_entry[], sysenter_entry[],
    syscall_sysretq_insn[], sysret_trap[];
extern "C" char user_syscall64[], user_syscall64_next[], user_syscall64_resume[];
extern "C" char user_sysenter64[], user_sysenter64_resume[];
extern "C" char user_try_syscall[], user_try_sysretq[], user_try_sysenter[], user_try_sysexitq[];
extern "C" char compat_landing[], compat_syscall[], compat_syscall_next[], compat_try_sysret[],
    compat_try_sysenter[], compat_try_sysexit[], compat_done[];

namespace {

static_assert(kCompatDone == 0x32);
static_assert(kEntryLstar == 1 && kEntryCstar == 2 && kEntrySysenter == 3);
static_assert(kRetSysretq == 0 && kRetSysretl == 1 && kRetSysexitq == 2 && kRetSysexitl == 3);

using namespace rflags;

// The selectors the MSRs name: our GDT is laid out for SYSRET and SYSEXIT
// (lib/cpu/desc.h), with SYSEXIT's 64-bit SS in the first test slot.
constexpr uint16_t kSyscallCs = desc::kKernelCs;
constexpr uint16_t kSysretBase = desc::kUserCs32 & ~3;
constexpr uint16_t kSysenterCs = desc::kKernelCs;
constexpr unsigned kSysexitSsSlot = 0;
constexpr uint16_t kRpl3 = 3;
static_assert(desc::kUserCs == ((kSysretBase + 16) | kRpl3) &&
              desc::kUserCs32 == (kSysretBase | kRpl3) &&
              desc::kUserDs == ((kSysretBase + 8) | kRpl3));
static_assert(desc::kUserCs == ((kSysenterCs + 32) | kRpl3) &&
              desc::kUserCs32 == ((kSysenterCs + 16) | kRpl3) &&
              desc::kUserDs == ((kSysenterCs + 24) | kRpl3) &&
              desc::kTestSlotBase + 8 * kSysexitSsSlot == kSysenterCs + 40);
constexpr uint64_t kArithmetic = kCarry | kParity | kAdjust | kZero | kSign | kOverflow;
constexpr uint64_t kSfmask = kCarry | kTrap | kInterrupt | kDirection | kNested | kAlignmentCheck;
// Flags CPL3 can set with POPF, some masked by kSfmask and some not.
constexpr uint64_t kUserFlags =
    kFixed1 | kCarry | kParity | kZero | kSign | kOverflow | kDirection | kAlignmentCheck;
// What SYSRET gives back: IOPL 3 shows RFLAGS came from R11, since CPL3
// cannot set it itself.
constexpr uint64_t kSysretFlags = kFixed1 | kIopl | kZero | kAdjust | kOverflow;
constexpr uint64_t kNonCanonical = 0x8000000000000000ull;  // in 4- and 5-level paging

void* trace_arg() { return &syscall_trace; }

void reset_trace() { syscall_trace = Trace{}; }

UserResult run_user64(char* fn) { return run_user(reinterpret_cast<UserFn>(fn), trace_arg()); }

uint32_t addr32(const void* p) { return uint32_t(reinterpret_cast<uint64_t>(p)); }

// A stack for 32-bit code whose top is on a 64 KiB boundary (see
// compat_landing), below 4 GiB as part of the image.
alignas(16) constinit uint8_t compat_stack_area[68 * 1024]{};
uint64_t compat_stack_top() {
  const uint64_t end = reinterpret_cast<uint64_t>(compat_stack_area + sizeof(compat_stack_area));
  return end & ~0xffffull;
}

alignas(16) constinit uint8_t sysenter_stack[4096]{};
uint64_t sysenter_stack_top() {
  return reinterpret_cast<uint64_t>(sysenter_stack + sizeof(sysenter_stack));
}

// The MSRs this test changes.
constexpr unsigned kMsrCount = 8;
constexpr uint32_t kMsrs[kMsrCount] = {
    cpu::kMsrEfer,   cpu::kMsrStar,       cpu::kMsrLstar,       cpu::kMsrCstar,
    cpu::kMsrSfmask, cpu::kMsrSysenterCs, cpu::kMsrSysenterEsp, cpu::kMsrSysenterEip};
struct MsrValues {
  uint64_t v[kMsrCount];
  bool operator==(const MsrValues&) const = default;
};
MsrValues read_msrs() {
  MsrValues m;
  for (unsigned i = 0; i < kMsrCount; ++i) m.v[i] = cpu::rdmsr(kMsrs[i]);
  return m;
}

// Those MSRs and the GDT slot, put back on destruction.
class SavedState {
 public:
  SavedState() : saved_(read_msrs()) {}
  ~SavedState() {
    for (unsigned i = 0; i < kMsrCount; ++i) cpu::wrmsr(kMsrs[i], saved_.v[i]);
    (void)desc::set_test_descriptor(kSysexitSsSlot, 0);
  }
  SavedState(const SavedState&) = delete;
  SavedState& operator=(const SavedState&) = delete;

 private:
  MsrValues saved_;
};

bool is_intel(cpu::Vendor v) { return v == cpu::Vendor::intel; }
// Hygon's CPUs are AMD's design and follow the APM here.
bool is_amd(cpu::Vendor v) { return v == cpu::Vendor::amd || v == cpu::Vendor::hygon; }

void report_selectors(uint64_t cs, uint64_t ss, uint16_t want_cs, uint16_t want_ss,
                      const char* what) {
  report(cs == want_cs, "%s: CS = 0x%lx (expected 0x%x)", what, cs, want_cs);
  report(ss == want_ss, "%s: SS = 0x%lx (expected 0x%x)", what, ss, want_ss);
}

void report_mode(uint64_t got, uint64_t want, const char* what) {
  report(got == want, "%s runs in %s mode (probe 0x%lx)", what,
         want == kMode64 ? "64-bit" : "32-bit compatibility", got);
}

// SYSCALL clears the RFLAGS bits SFMASK names and keeps the others: the
// system flags and the arithmetic ones apart, since TCG loses the latter.
void report_sfmask(const Trace& t) {
  const uint64_t want = t.before_flags & ~kSfmask;
  report((t.rflags & ~kArithmetic) == (want & ~kArithmetic),
         "system flags masked by SFMASK 0x%lx (RFLAGS 0x%lx, expected 0x%lx)", kSfmask, t.rflags,
         want);
  bool tcg = known_tcg_difference(
      "SYSCALL clears all arithmetic flags (CF, PF, AF, ZF, SF, OF), not only those SFMASK "
      "names");
  report_xfail(tcg, (t.rflags & kArithmetic) == (want & kArithmetic),
               "arithmetic flags masked by SFMASK (RFLAGS 0x%lx, expected 0x%lx)", t.rflags, want);
}

// SYSCALL from 64-bit mode at CPL3, SYSRET back to 64-bit mode.
void syscall64() {
  ReportPrefix p("64-bit");
  reset_trace();
  syscall_trace.flags_in = kUserFlags;
  syscall_trace.ret_rcx = reinterpret_cast<uint64_t>(user_syscall64_resume);
  syscall_trace.ret_r11 = kSysretFlags;
  syscall_trace.ret_set_r11 = 1;
  UserResult r = run_user64(user_syscall64);
  const Trace& t = syscall_trace;
  char ex[32];
  report(r.ok(), "SYSCALL and SYSRET come back (%s)", exinfo_str(r.ex, ex, sizeof(ex)));
  if (!r.ok()) return;
  report(t.entry == kEntryLstar, "SYSCALL enters at LSTAR (entry %lu)", t.entry);
  report(t.rcx == reinterpret_cast<uint64_t>(user_syscall64_next),
         "RCX = the next RIP (0x%lx, expected %p)", t.rcx, user_syscall64_next);
  report((t.before_flags & kUserFlags) == kUserFlags, "CPL3 set the flags under test (0x%lx)",
         t.before_flags);
  report(t.r11 == t.before_flags, "R11 = RFLAGS (0x%lx, expected 0x%lx)", t.r11, t.before_flags);
  report_sfmask(t);
  report_selectors(t.cs, t.ss, kSyscallCs, kSyscallCs + 8, "SYSCALL");
  report(t.rsp == t.before_rsp, "SYSCALL leaves RSP (0x%lx, expected 0x%lx)", t.rsp, t.before_rsp);
  report_mode(t.mode, kMode64, "the LSTAR target");

  report(t.after_flags == kSysretFlags, "SYSRET loads RFLAGS from R11 (0x%lx, expected 0x%lx)",
         t.after_flags, kSysretFlags);
  report_selectors(t.after_cs, t.after_ss, (kSysretBase + 16) | kRpl3, (kSysretBase + 8) | kRpl3,
                   "SYSRET");
  report(t.after_rsp == t.before_rsp, "SYSRET leaves RSP (0x%lx, expected 0x%lx)", t.after_rsp,
         t.before_rsp);
  report_mode(t.after_mode, kMode64, "the SYSRET target");
}

// A 32-bit SYSRET after a 64-bit SYSCALL: to compatibility mode at ECX.
void sysret32() {
  ReportPrefix p("SYSRET to compatibility mode");
  reset_trace();
  syscall_trace.flags_in = kFixed1;
  syscall_trace.ret_kind = kRetSysretl;
  syscall_trace.ret_rcx = 0xabcd000000000000ull | addr32(compat_landing);
  syscall_trace.ret_r11 = kSysretFlags;
  syscall_trace.ret_set_r11 = 1;
  syscall_trace.ret_rsp = compat_stack_top();
  UserResult r = run_user64(user_syscall64);
  const Trace& t = syscall_trace;
  char ex[32];
  report(r.ok() && r.value == kCompatDone,
         "lands at ECX, the upper half of RCX ignored (%s, value 0x%lx)",
         exinfo_str(r.ex, ex, sizeof(ex)), r.value);
  if (!r.ok()) return;
  report_selectors(t.after_cs, t.after_ss, kSysretBase | kRpl3, (kSysretBase + 8) | kRpl3,
                   "SYSRET");
  report_mode(t.after_mode, kMode32, "the target");
  report(t.after_flags == kSysretFlags, "RFLAGS from R11 (0x%lx, expected 0x%lx)", t.after_flags,
         kSysretFlags);
  report(t.after_rsp == compat_stack_top() - 4,
         "SS is a 32-bit stack: a push moves ESP 0x%lx to 0x%lx", compat_stack_top(), t.after_rsp);
}

// SYSCALL from compatibility mode: CSTAR on AMD, #UD on Intel.
void syscall_compat(cpu::Vendor vendor) {
  ReportPrefix p("SYSCALL from compatibility mode");
  reset_trace();
  syscall_trace.flags_in = kUserFlags;
  syscall_trace.ret_kind = kRetSysretl;
  syscall_trace.ret_rcx = addr32(compat_landing);
  syscall_trace.ret_rsp = compat_stack_top();
  const uint32_t esp = uint32_t(compat_stack_top()) - 256;
  UserResult r = run_user_compat(addr32(compat_syscall),
                                 CompatRegs{.ebx = addr32(&syscall_trace), .esp = esp});
  const Trace& t = syscall_trace;
  if (is_intel(vendor)) {
    // SDM vol.2B "SYSCALL": compatibility mode exceptions, #UD.
    bool tcg = known_tcg_difference(
        "SYSCALL in compatibility mode on an Intel CPU model enters at CSTAR instead of "
        "raising #UD");
    report_fault_xfail(tcg, r.ex, ExInfo(Vec::UD), "Intel: SYSCALL");
    report_xfail(tcg, t.entry == 0, "Intel: no entry point ran (entry %lu)", t.entry);
    return;
  }
  char ex[32];
  report(r.ok() && r.value == kCompatDone, "AMD: SYSCALL and SYSRET come back (%s)",
         exinfo_str(r.ex, ex, sizeof(ex)));
  if (!r.ok()) return;
  report(t.entry == kEntryCstar, "enters at CSTAR (entry %lu)", t.entry);
  report(t.rcx == addr32(compat_syscall_next), "RCX = the next EIP (0x%lx, expected 0x%x)", t.rcx,
         addr32(compat_syscall_next));
  report(t.r11 == t.before_flags, "R11 = RFLAGS (0x%lx, expected 0x%lx)", t.r11, t.before_flags);
  report_sfmask(t);
  report_selectors(t.cs, t.ss, kSyscallCs, kSyscallCs + 8, "SYSCALL");
  // The upper half of RSP is undefined after compatibility mode (SDM vol.1
  // §3.4.1.1), so only ESP is compared.
  report(uint32_t(t.rsp) == esp, "SYSCALL leaves ESP (0x%x, expected 0x%x)", uint32_t(t.rsp), esp);
  report_mode(t.mode, kMode64, "the CSTAR target");
  report_mode(t.after_mode, kMode32, "the SYSRET target");
}

// SYSRET at CPL3: #GP(0) in 64-bit mode (both manuals); in compatibility
// mode #UD on Intel (SYSRET is not recognised there) and #GP(0) on AMD.
void sysret_cpl3(cpu::Vendor vendor, bool compat) {
  ReportPrefix p("SYSRET at CPL3");
  reset_trace();
  report_fault(run_user64(user_try_sysretq).ex, ExInfo(Vec::GP, 0), "64-bit mode");
  if (!compat) return;
  UserResult r =
      run_user_compat(addr32(compat_try_sysret),
                      CompatRegs{.ebx = addr32(&syscall_trace), .ecx = addr32(compat_done)});
  if (is_intel(vendor)) {
    bool tcg = known_tcg_difference(
        "SYSRET in compatibility mode on an Intel CPU model raises #GP(0) (CPL check) instead "
        "of #UD");
    report_fault_xfail(tcg, r.ex, ExInfo(Vec::UD), "compatibility mode, Intel");
  } else if (is_amd(vendor)) {
    report_fault(r.ex, ExInfo(Vec::GP, 0), "compatibility mode, AMD");
  } else {
    report_skip("compatibility mode: vendor %s", cpu::vendor_str(vendor));
  }
}

// What the #GP of a SYSRET to a non-canonical RCX was delivered with.
struct GpSeen {
  bool hit;
  uint64_t rip, cs, rflags, rsp, ss, frame;
};
constinit GpSeen gp_seen{};
bool record_gp(ExceptionFrame* f) {
  gp_seen = {true,
             f->regs.rip,
             f->regs.cs,
             f->regs.rflags,
             f->regs[Gpr::rsp],
             f->regs.ss,
             reinterpret_cast<uint64_t>(f)};
  return false;  // the catch path ends the run
}

void sysret_noncanonical(cpu::Vendor vendor) {
  ReportPrefix p("SYSRET to non-canonical RCX");
  if (!is_intel(vendor) && !is_amd(vendor)) {
    report_skip("vendor %s: the manuals differ and neither applies", cpu::vendor_str(vendor));
    return;
  }
  reset_trace();
  gp_seen = {};
  syscall_trace.flags_in = kFixed1;
  syscall_trace.ret_rcx = kNonCanonical;
  syscall_trace.ret_r11 = kSysretFlags;
  syscall_trace.ret_set_r11 = 1;
  UserResult r;
  {
    ScopedHandler h(static_cast<unsigned>(Vec::GP), record_gp);
    r = run_user64(user_syscall64);
  }
  const Trace& t = syscall_trace;
  const GpSeen g = gp_seen;
  report_fault(r.ex, ExInfo(Vec::GP, 0), "SYSRET");
  if (!g.hit) return;
  // RSP at the SYSRET is the one SYSCALL came with; SYSRET does not change it.
  report(g.rsp == t.rsp, "the frame's RSP is the one at SYSRET (0x%lx, expected 0x%lx)", g.rsp,
         t.rsp);
  const uint64_t rsp0 = desc::bsp_tss()->rsp[0];
  const bool on_rsp0 = g.frame < rsp0 && g.frame >= rsp0 - desc::kIstStackSize;
  const bool below_rsp = g.frame < t.rsp && t.rsp - g.frame < 1024;
  if (is_intel(vendor)) {
    // SDM vol.2B "SYSRET": the RCX check comes before any change, so the
    // #GP is taken at CPL0 at the SYSRET itself, with RFLAGS not yet from
    // R11, and without a stack switch (SDM vol.3 §6.12.1).
    bool tcg = known_tcg_difference(
        "SYSRET to a non-canonical RCX on an Intel CPU model returns to CPL3 and faults on "
        "the fetch there, as AMD does, instead of #GP(0) at CPL0 before the return");
    report_xfail(tcg, g.cs == kSyscallCs, "Intel: #GP taken at CPL0 (CS 0x%lx, expected 0x%x)",
                 g.cs, kSyscallCs);
    report_xfail(tcg, g.rip == reinterpret_cast<uint64_t>(syscall_sysretq_insn),
                 "Intel: at the SYSRET (RIP 0x%lx, expected %p)", g.rip, syscall_sysretq_insn);
    report_xfail(tcg, (g.rflags & kIopl) == 0, "Intel: RFLAGS not loaded from R11 (0x%lx)",
                 g.rflags);
    report_xfail(tcg, below_rsp, "Intel: delivered on the stack in use (frame 0x%lx, RSP 0x%lx)",
                 g.frame, t.rsp);
  } else {
    // APM vol.3 "SYSRET" checks nothing of RCX: the return completes and
    // the fetch faults at CPL3, so the #GP switches to RSP0 (APM vol.2
    // §8.9) with the user's CS, SS, RIP and RFLAGS in the frame.
    report(g.cs == ((kSysretBase + 16) | kRpl3), "AMD: #GP taken at CPL3 (CS 0x%lx, expected 0x%x)",
           g.cs, (kSysretBase + 16) | kRpl3);
    report(g.ss == ((kSysretBase + 8) | kRpl3), "AMD: SS 0x%lx (expected 0x%x)", g.ss,
           (kSysretBase + 8) | kRpl3);
    report(g.rip == kNonCanonical, "AMD: at the non-canonical RIP (0x%lx)", g.rip);
    report((g.rflags & ~kResume) == kSysretFlags, "AMD: RFLAGS from R11 (0x%lx, expected 0x%lx)",
           g.rflags, kSysretFlags);
    report(on_rsp0, "AMD: delivered on the TSS RSP0 stack (frame 0x%lx, RSP0 0x%lx)", g.frame,
           rsp0);
  }
}

// EFER.SCE clear: SYSCALL and SYSRET are #UD (SDM vol.2B "SYSCALL",
// "SYSRET"; APM vol.3 "SYSCALL", "SYSRET"), SYSRET even at CPL3, where the
// #UD comes before the CPL check.
void sce_clear() {
  ReportPrefix p("EFER.SCE = 0");
  const uint64_t efer = cpu::rdmsr(cpu::kMsrEfer);
  cpu::wrmsr(cpu::kMsrEfer, efer & ~cpu::efer::SCE);
  reset_trace();
  UserResult sc = run_user64(user_try_syscall);
  const uint64_t entry = syscall_trace.entry;
  UserResult sr3 = run_user64(user_try_sysretq);
  ExInfo sr0 = catch_fault([] {
    asm volatile(
        "lea sysret_trap(%%rip), %%rcx\n"
        "pushfq\n"
        "pop %%r11\n"
        "sysretq\n" ::
            : "rcx", "r11", "memory");
  });
  cpu::wrmsr(cpu::kMsrEfer, efer);
  report_fault(sc.ex, ExInfo(Vec::UD), "SYSCALL at CPL3");
  report(entry == 0, "no entry point ran (entry %lu)", entry);
  report_fault(sr3.ex, ExInfo(Vec::UD), "SYSRET at CPL3");
  report_fault(sr0, ExInfo(Vec::UD), "SYSRET at CPL0");
}

// SYSENTER from 64-bit mode, SYSEXIT back with and without REX.W (Intel).
void sysenter_intel(bool compat) {
  ReportPrefix p("SYSENTER");
  reset_trace();
  syscall_trace.flags_in = kUserFlags;
  syscall_trace.ret_kind = kRetSysexitq;
  UserResult r = run_user64(user_sysenter64);
  const Trace& t = syscall_trace;
  char ex[32];
  report(r.ok(), "SYSENTER and SYSEXIT come back (%s)", exinfo_str(r.ex, ex, sizeof(ex)));
  if (r.ok()) {
    report(t.entry == kEntrySysenter, "enters at IA32_SYSENTER_EIP (entry %lu)", t.entry);
    report(t.rsp == sysenter_stack_top(), "RSP = IA32_SYSENTER_ESP (0x%lx, expected 0x%lx)", t.rsp,
           sysenter_stack_top());
    report_selectors(t.cs, t.ss, kSysenterCs, kSysenterCs + 8, "SYSENTER");
    // SDM "SYSENTER": RFLAGS.VM, IF and RF cleared, nothing else.
    report(t.rflags == (t.before_flags & ~kInterrupt),
           "RFLAGS with IF clear, the rest kept (0x%lx, expected 0x%lx)", t.rflags,
           t.before_flags & ~kInterrupt);
    report_mode(t.mode, kMode64, "the SYSENTER target");
    report_selectors(t.after_cs, t.after_ss, (kSysenterCs + 32) | kRpl3, (kSysenterCs + 40) | kRpl3,
                     "SYSEXIT (REX.W)");
    report(t.after_rsp == t.before_rsp, "SYSEXIT loads RSP from RCX (0x%lx, expected 0x%lx)",
           t.after_rsp, t.before_rsp);
    report_mode(t.after_mode, kMode64, "the SYSEXIT (REX.W) target");
  }
  report_fault(run_user64(user_try_sysexitq).ex, ExInfo(Vec::GP, 0), "SYSEXIT at CPL3");

  if (compat) {
    ReportPrefix c("from compatibility mode");
    reset_trace();
    syscall_trace.ret_kind = kRetSysexitl;
    const uint32_t top = uint32_t(compat_stack_top());
    UserResult rc =
        run_user_compat(addr32(compat_try_sysenter), CompatRegs{.ebx = addr32(&syscall_trace),
                                                                .ecx = top,
                                                                .edx = addr32(compat_landing),
                                                                .esp = top - 256});
    report(rc.ok() && rc.value == kCompatDone, "SYSENTER and SYSEXIT come back (%s)",
           exinfo_str(rc.ex, ex, sizeof(ex)));
    if (rc.ok()) {
      report(t.entry == kEntrySysenter, "enters at IA32_SYSENTER_EIP (entry %lu)", t.entry);
      report_mode(t.mode, kMode64, "the SYSENTER target");
      report_selectors(t.after_cs, t.after_ss, (kSysenterCs + 16) | kRpl3,
                       (kSysenterCs + 24) | kRpl3, "SYSEXIT");
      report_mode(t.after_mode, kMode32, "the SYSEXIT target");
      report(t.after_rsp == top - 4, "SS is a 32-bit stack: a push moves ESP 0x%x to 0x%lx", top,
             t.after_rsp);
    }
    report_fault(
        run_user_compat(addr32(compat_try_sysexit), CompatRegs{.ebx = addr32(&syscall_trace)}).ex,
        ExInfo(Vec::GP, 0), "SYSEXIT at CPL3");
  }

  // SDM "SYSENTER": #GP(0) if IA32_SYSENTER_CS[15:2] = 0.
  reset_trace();
  syscall_trace.ret_kind = kRetSysexitq;
  cpu::wrmsr(cpu::kMsrSysenterCs, 0);
  UserResult z = run_user64(user_try_sysenter);
  cpu::wrmsr(cpu::kMsrSysenterCs, kSysenterCs);
  report_fault(z.ex, ExInfo(Vec::GP, 0), "IA32_SYSENTER_CS = 0");
}

// SYSENTER and SYSEXIT are invalid in long mode on AMD, in 64-bit and
// compatibility mode alike (APM vol.3 "SYSENTER", "SYSEXIT"); where SEP is
// clear they are #UD everywhere.
void sysenter_ud(bool compat, const char* why) {
  ReportPrefix p(why);
  reset_trace();
  syscall_trace.ret_kind = kRetSysexitq;
  UserResult r = run_user64(user_try_sysenter);
  report_fault(r.ex, ExInfo(Vec::UD), "SYSENTER");
  report(syscall_trace.entry == 0, "SYSENTER: no entry point ran (entry %lu)", syscall_trace.entry);
  report_fault(run_user64(user_try_sysexitq).ex, ExInfo(Vec::UD), "SYSEXIT");
  if (!compat) return;
  reset_trace();
  const uint32_t top = uint32_t(compat_stack_top());
  UserResult rc =
      run_user_compat(addr32(compat_try_sysenter), CompatRegs{.ebx = addr32(&syscall_trace),
                                                              .ecx = top,
                                                              .edx = addr32(compat_landing),
                                                              .esp = top - 256});
  const uint64_t entry = syscall_trace.entry;
  bool tcg = cpu::has_sysenter() &&
             known_tcg_difference(
                 "SYSENTER in compatibility mode on a non-Intel CPU model enters at "
                 "IA32_SYSENTER_EIP instead of raising #UD");
  report_xfail(tcg, rc.ex == ExInfo(Vec::UD) && entry == 0,
               "SYSENTER from compatibility mode: #UD, no entry point ran (entry %lu)", entry);
  tcg = cpu::has_sysenter() &&
        known_tcg_difference(
            "SYSEXIT in compatibility mode on a non-Intel CPU model raises #GP(0) (its CPL "
            "check) instead of #UD");
  report_fault_xfail(
      tcg,
      run_user_compat(addr32(compat_try_sysexit), CompatRegs{.ebx = addr32(&syscall_trace)}).ex,
      ExInfo(Vec::UD), "SYSEXIT from compatibility mode");
}

}  // namespace

int main() {
  const cpu::Vendor vendor = cpu::vendor();
  report_info("CPU vendor %s, SYSCALL %s, SEP %s", cpu::vendor_str(vendor),
              cpu::has_syscall() ? "yes" : "no", cpu::has_sysenter() ? "yes" : "no");
  const bool compat =
      below_4g(compat_stack_area, sizeof(compat_stack_area)) && below_4g(compat_landing, 4096);
  if (!compat) report_skip("the image lies above 4 GiB: no compatibility-mode checks");

  const MsrValues before = read_msrs();
  {
    SavedState saved;
    cpu::wrmsr(cpu::kMsrStar, cpu::star(kSyscallCs, kSysretBase));
    cpu::wrmsr(cpu::kMsrLstar, reinterpret_cast<uint64_t>(syscall_lstar_entry));
    cpu::wrmsr(cpu::kMsrCstar, reinterpret_cast<uint64_t>(syscall_cstar_entry));
    cpu::wrmsr(cpu::kMsrSfmask, kSfmask);
    cpu::wrmsr(cpu::kMsrSysenterCs, kSysenterCs);
    cpu::wrmsr(cpu::kMsrSysenterEsp, sysenter_stack_top());
    cpu::wrmsr(cpu::kMsrSysenterEip, reinterpret_cast<uint64_t>(sysenter_entry));
    (void)desc::set_test_descriptor(kSysexitSsSlot, desc::kDescFlatData | desc::kDescDpl3);

    if (cpu::has_syscall()) {
      cpu::wrmsr(cpu::kMsrEfer, cpu::rdmsr(cpu::kMsrEfer) | cpu::efer::SCE);
      syscall64();
      if (compat) {
        sysret32();
        syscall_compat(vendor);
      }
      sysret_cpl3(vendor, compat);
      sysret_noncanonical(vendor);
      sce_clear();
    } else {
      report_skip("no SYSCALL/SYSRET (CPUID.80000001H:EDX[11] clear)");
    }

    if (is_intel(vendor) && cpu::has_sysenter())
      sysenter_intel(compat);
    else if (is_amd(vendor))
      sysenter_ud(compat, "SYSENTER in long mode on AMD");
    else if (!cpu::has_sysenter())
      sysenter_ud(compat, "no SEP");
    else
      report_skip("SYSENTER: vendor %s with SEP", cpu::vendor_str(vendor));
  }
  report(read_msrs() == before, "EFER, STAR, LSTAR, CSTAR, SFMASK and SYSENTER MSRs restored");
  return report_summary();
}
