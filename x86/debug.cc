// debug: the debug architecture of DR0-DR7, RFLAGS.TF and RF, and ICEBP
// (Intel SDM vol.3B ch.18 "Debug, Branch Profile, TSC, and Intel RDT
// Features"; AMD APM vol.2 ch.13 "Software Debug and Performance Resources").
// Each of DR0-DR3 must raise an instruction breakpoint, a fault taken before
// the instruction runs (its LEN must be 1 byte, SDM §18.2.5), and write and
// read/write data breakpoints of 1, 2, 4 and 8 bytes (8 being defined in
// 64-bit mode), traps taken after the access, each with exactly its Bn bit in
// DR6 (SDM §18.2.3-§18.2.5, §18.3.1.1-§18.3.1.2; APM vol.2 §13.1). An access
// that touches any watched byte, a wider one straddling the start included,
// must trap; the bytes just outside must not, nor a read under a write
// breakpoint; addresses are aligned to the length, since the SDM gives an
// unaligned data breakpoint no defined result (§18.2.5). An instruction
// breakpoint returns through IRET with RF set to let the instruction run once
// without a second #DB, and fires again without RF or on the next execution,
// RF being cleared as the instruction completes (SDM §18.3.1.1, vol.3A §2.3
// "RF"). With DR7.GD set every MOV to or from a DR raises a fault-like #DB
// with DR6.BD set, and the processor clears GD on entry to the handler
// (§18.2.4, §18.3.1.3). Single-step (TF) traps after each instruction with
// DR6.BS (§18.3.1.4), but not after MOV SS or POP SS: the step (and a data
// breakpoint on the SS load itself) is held until after the next instruction
// (SDM vol.3A §6.8.3 "Masking Exceptions and Interrupts When Switching
// Stacks"); STI's shadow blocks interrupts only, so its step lands right
// after it (SDM vol.2B "STI"). POP SS does not exist in 64-bit mode and is
// stepped in compatibility mode at CPL3. ICEBP (INT1, F1) raises a trap-like
// #DB that sets none of DR6's status bits, from CPL3 too, where the IDT
// gate's DPL does not apply to it (SDM vol.2A "INT n/INTO/INT3/INT1", vol.3A
// §6.15 "Interrupt 1"). DR4/DR5 alias DR6/DR7 with CR4.DE clear and raise #UD
// with it set (§18.2.2). A data breakpoint hit by REP STOSB or REP MOVSB
// traps after the iteration that touched the address, with RCX, RSI and RDI
// where that iteration left them and RIP still at the instruction, which then
// finishes the rest (§18.3.1.2). DR6 reads bits 4-10 and 17-31 as 1 (bit 11
// BLD and bit 16 RTM also, unless CPUID enumerates them), DR7 bit 10 as 1,
// and in 64-bit mode a MOV that sets any of bits 63:32 of DR6 or DR7 raises
// #GP(0) (§18.2.6; SDM vol.2B "MOV—Move to/from Debug Registers"). The #DB
// handler records each #DB, puts DR6 back to its idle value, stops TF at a
// known place and gives up after a bounded number of #DBs; DR7 is cleared
// after every check. Under QEMU's TCG the known deviations are XFAILs that
// name what TCG does.
#include <cstdint>

#include "cpu/debugreg.h"
#include "cpu/desc.h"
#include "cpu/exceptions.h"
#include "cpu/processor.h"
#include "cpu/regs.h"
#include "cpu/usermode.h"
#include "rt/expect.h"
#include "rt/format.h"
#include "rt/report.h"

namespace dr6 = debugreg::dr6;
namespace dr7 = debugreg::dr7;
using debugreg::Len;
using debugreg::Rw;

#define STR2(x) #x
#define STR(x) STR2(x)

// The code under test. Labels name the instructions whose address a #DB
// must report.
asm(R"(
  .pushsection .text, "ax"
  .globl db_exec_fn, db_exec_insn, db_store8, db_store8_end, db_load8, db_load8_end
  .hidden db_exec_fn, db_exec_insn, db_store8, db_store8_end, db_load8, db_load8_end
  .globl db_store16, db_store16_end, db_icebp, db_icebp_end, db_rep_stosb, db_rep_stosb_insn
  .hidden db_store16, db_store16_end, db_icebp, db_icebp_end, db_rep_stosb, db_rep_stosb_insn
  .globl db_rep_movsb, db_rep_movsb_insn, db_movss_mem, db_movss_mem_1, db_movss_mem_2
  .hidden db_rep_movsb, db_rep_movsb_insn, db_movss_mem, db_movss_mem_1, db_movss_mem_2

/* RDI: a counter the instruction increments. */
db_exec_fn:
db_exec_insn: incq (%rdi)
  ret

/* RDI: the address, SIL/SI: the value. */
db_store8: movb %sil, (%rdi)
db_store8_end: ret
db_load8: movb (%rdi), %al
db_load8_end: ret
db_store16: movw %si, (%rdi)
db_store16_end: ret

db_icebp: .byte 0xf1
db_icebp_end: ret

/* RDI: destination, RSI: value (STOSB) or source (MOVSB), RDX: count. */
db_rep_stosb:
  mov %esi, %eax
  mov %rdx, %rcx
db_rep_stosb_insn: rep stosb
  ret
db_rep_movsb:
  mov %rdx, %rcx
db_rep_movsb_insn: rep movsb
  ret

/* RDI: a copy of SS, under a data breakpoint. */
db_movss_mem:
  mov (%rdi), %ss
db_movss_mem_1: nop
db_movss_mem_2: nop
  ret

/* MOV from and to each DR, for DR7.GD: the MOV is the first instruction,
   3 bytes long (0F 21/23 ModRM). RDI: the value to write. */
  .irp n, 0, 1, 2, 3, 6, 7
  .globl db_gd_rd\n, db_gd_wr\n
  .hidden db_gd_rd\n, db_gd_wr\n
db_gd_rd\n: mov %dr\n, %rax
  ret
db_gd_wr\n: mov %rdi, %dr\n
  ret
  .endr

/* Single-step: TF is set by the POPFQ, so the first instruction that can
   trap is the one at _1; the #DB handler clears TF at _4. */
  .macro SSTEP name, setup, insn, teardown
  .globl \name, \name\()_1, \name\()_2, \name\()_3, \name\()_4
  .hidden \name, \name\()_1, \name\()_2, \name\()_3, \name\()_4
\name:
  \setup
  pushfq
  orq $0x100, (%rsp)
  popfq
\name\()_1: \insn
\name\()_2: nop
\name\()_3: nop
\name\()_4: pushfq
  andq $~0x100, (%rsp)
  popfq
  \teardown
  ret
  .endm
  SSTEP db_ss_nop, "nop", "nop", "nop"
  SSTEP db_ss_movds, "mov %ds, %eax", "mov %eax, %ds", "nop"
  SSTEP db_ss_movss, "mov %ss, %eax", "mov %eax, %ss", "nop"
  SSTEP db_ss_sti, "cli", "sti", "cli"

/* POP SS, which 64-bit mode lacks, at CPL3 in compatibility mode. */
  .code32
  .globl db_ss_popss, db_ss_popss_1, db_ss_popss_2, db_ss_popss_3, db_ss_popss_4
  .hidden db_ss_popss, db_ss_popss_1, db_ss_popss_2, db_ss_popss_3, db_ss_popss_4
db_ss_popss:
  push %ss
  pushfl
  orl $0x100, (%esp)
  popfl
db_ss_popss_1: pop %ss
db_ss_popss_2: nop
db_ss_popss_3: nop
db_ss_popss_4: pushfl
  andl $~0x100, (%esp)
  popfl
  xor %eax, %eax
  int $)" STR(USER_RETURN_VECTOR) R"(
  ud2
  .code64
  .popsection
)");

extern "C" {
void db_exec_fn(volatile uint64_t* counter);
void db_store8(volatile void* p, uint64_t v);
void db_load8(volatile void* p);
void db_store16(volatile void* p, uint64_t v);
void db_icebp();
void db_rep_stosb(volatile void* dst, uint64_t value, uint64_t count);
void db_rep_movsb(volatile void* dst, const volatile void* src, uint64_t count);
void db_movss_mem(const uint16_t* ss);
void db_ss_nop();
void db_ss_movds();
void db_ss_movss();
void db_ss_sti();
#define GD_FNS(n) void db_gd_rd##n(uint64_t); void db_gd_wr##n(uint64_t);
GD_FNS(0) GD_FNS(1) GD_FNS(2) GD_FNS(3) GD_FNS(6) GD_FNS(7)
#undef GD_FNS
extern char db_exec_insn[], db_store8_end[], db_load8_end[], db_store16_end[], db_icebp_end[],
    db_rep_stosb_insn[], db_rep_movsb_insn[], db_movss_mem_1[], db_movss_mem_2[];
#define SS_LABELS(name) extern char name##_1[], name##_2[], name##_3[], name##_4[];
SS_LABELS(db_ss_nop) SS_LABELS(db_ss_movds) SS_LABELS(db_ss_movss) SS_LABELS(db_ss_sti)
SS_LABELS(db_ss_popss)
#undef SS_LABELS
extern char db_ss_popss[];
}

namespace {

constexpr unsigned kDbVector = static_cast<unsigned>(Vec::DB);

uint64_t addr(const volatile void* p) { return reinterpret_cast<uint64_t>(p); }

// What the #DB handler saw, per #DB.
struct Hit {
  uint64_t rip, cs, rflags, dr6, dr7, rcx, rsi, rdi;
};
constexpr unsigned kMaxHits = 8;
// A #DB storm (a breakpoint re-firing without RF, TF never stopped) ends
// here: the handler disarms everything and resumes at `escape`.
constexpr unsigned kMaxDbs = 16;

struct DbLog {
  unsigned count;
  Hit hits[kMaxHits];
  bool set_rf;        // resume with RF set ...
  unsigned rf_from;   // ... from this #DB on (0: the first)
  uint64_t stop_tf;   // clear TF on a #DB at this RIP
  uint64_t escape;    // where to resume after kMaxDbs (0: where it was)
  bool storm;
};
constinit DbLog db_log{};
constinit bool in_db_handler = false;

void reset_log() { db_log = DbLog{}; }

bool on_db(ExceptionFrame* f) {
  // A #DB raised by the handler's own DR access (DR7.GD left set): its
  // exception-table fixup takes it, so the handler never recurses.
  if (in_db_handler) return false;
  in_db_handler = true;
  const unsigned i = db_log.count++;
  if (i < kMaxHits) {
    SafeResult<uint64_t> d6 = debugreg::read_safe(6), d7 = debugreg::read_safe(7);
    db_log.hits[i] = {f->regs.rip,      f->regs.cs,          f->regs.rflags,
                      d6.ok() ? d6.value : ~0ull, d7.ok() ? d7.value : ~0ull,
                      f->regs[Gpr::rcx], f->regs[Gpr::rsi], f->regs[Gpr::rdi]};
  }
  (void)debugreg::write_safe(6, dr6::kIdle);
  if (db_log.set_rf && i >= db_log.rf_from) f->regs.rflags |= rflags::kResume;
  if (db_log.stop_tf && f->regs.rip == db_log.stop_tf) f->regs.rflags &= ~rflags::kTrap;
  if (db_log.count >= kMaxDbs) {
    db_log.storm = true;
    (void)debugreg::write_safe(7, dr7::kIdle);
    f->regs.rflags = (f->regs.rflags & ~rflags::kTrap) | rflags::kResume;
    if (db_log.escape) f->regs.rip = db_log.escape;
  }
  in_db_handler = false;
  return true;
}

// One check's worth of #DB handling: the handler installed, the log
// empty, DR6 idle and DR7 disarmed on entry and again on exit, TF clear.
class DbScope {
 public:
  DbScope() : handler_(kDbVector, on_db) {
    reset_log();
    debugreg::write(7, dr7::kIdle);
    debugreg::write(6, dr6::kIdle);
  }
  ~DbScope() {
    cpu::write_rflags(cpu::read_rflags() & ~rflags::kTrap);
    debugreg::write(7, dr7::kIdle);
    debugreg::write(6, dr6::kIdle);
  }
  DbScope(const DbScope&) = delete;
  DbScope& operator=(const DbScope&) = delete;

 private:
  ScopedHandler handler_;
};

// The first #DB, or an impossible one when none was taken.
Hit first_hit() { return db_log.count ? db_log.hits[0] : Hit{~0ull, 0, 0, 0, 0, 0, 0, 0}; }

// ---------------------------------------------------------------------------
// The registers themselves.

void registers() {
  ReportPrefix p("registers");
  DbScope s;
  for (unsigned n = 0; n < debugreg::kCount; ++n) {
    const uint64_t v = 0xffff800012345678ull + (uint64_t(n) << 12) + n * 8;
    debugreg::write(n, v);
    const uint64_t got = debugreg::read(n);
    report(got == v, "DR%u holds a 64-bit address (0x%lx, wrote 0x%lx)", n, got, v);
    debugreg::write(n, 0);
  }

  const bool rtm = cpu::has(cpu::feature::kRtm);
  const bool bld = cpu::has(cpu::feature::kBusLockDetect);
  debugreg::write(6, 0);
  const uint64_t want6 = dr6::kFixed1 | (rtm ? 0 : dr6::kRtm) | (bld ? 0 : dr6::kBld);
  const uint64_t got6 = debugreg::read(6);
  report(got6 == want6, "DR6 written as 0 reads 0x%lx (expected 0x%lx: bits 4-10, 17-31%s%s as 1)",
         got6, want6, bld ? "" : ", BLD", rtm ? "" : ", RTM");
  debugreg::write(6, dr6::kIdle);
  if (rtm) {
    debugreg::write(6, dr6::kIdle & ~dr6::kRtm);
    const uint64_t got = debugreg::read(6);
    report(!(got & dr6::kRtm), "with RTM, DR6.RTM can be written as 0 (0x%lx)", got);
    debugreg::write(6, dr6::kIdle);
  } else {
    report_skip("DR6.RTM writable: %s is clear", cpu::feature::kRtm.name);
  }

  debugreg::write(7, 0);
  const uint64_t got7 = debugreg::read(7);
  report(got7 == dr7::kFixed1, "DR7 written as 0 reads 0x%lx (bit 10 is 1)", got7);
  const uint64_t armed = debugreg::arm(2, Rw::write, Len::b8) | dr7::kGe | dr7::kLe;
  debugreg::write(7, armed);
  const uint64_t got_armed = debugreg::read(7);
  report(got_armed == (armed | dr7::kFixed1), "DR7 holds enables, R/W, LEN, LE and GE (0x%lx)",
         got_armed);
  debugreg::write(7, dr7::kIdle);

  constexpr unsigned kRegs[] = {6, 7}, kBits[] = {32, 63};
  for (unsigned reg : kRegs) {
    const uint64_t idle = reg == 6 ? dr6::kIdle : dr7::kIdle;
    for (unsigned bit : kBits) {
      char what[64];
      rt::snprintf(what, sizeof(what), "MOV to DR%u with bit %u set", reg, bit);
      debugreg::write(reg, idle);
      report_fault(debugreg::write_safe(reg, idle | 1ull << bit), ExInfo(Vec::GP, 0), what);
      const uint64_t after = debugreg::read(reg);
      report(after == idle, "DR%u unchanged by it (0x%lx)", reg, after);
    }
  }
}

// DR4 and DR5 (SDM §18.2.2).
void dr4_dr5() {
  ReportPrefix p("DR4/DR5");
  DbScope s;
  const uint64_t cr4 = cpu::read_cr4();
  {
    ReportPrefix q("CR4.DE clear");
    cpu::write_cr4(cr4 & ~cpu::cr4::DE);
    const uint64_t v6 = dr6::kIdle | dr6::kB1 | dr6::kBs;
    report_fault(debugreg::write_safe(4, v6), ExInfo(), "MOV to DR4");
    uint64_t got = debugreg::read(6);
    report(got == v6, "MOV to DR4 writes DR6 (0x%lx, wrote 0x%lx)", got, v6);
    debugreg::write(6, dr6::kIdle | dr6::kB2);
    SafeResult<uint64_t> r4 = debugreg::read_safe(4);
    report(r4.ok() && r4.value == (dr6::kIdle | dr6::kB2), "MOV from DR4 reads DR6 (0x%lx, %s)",
           r4.value, r4.ok() ? "no fault" : "faulted");
    // Conditions but no enables: nothing can fire.
    const uint64_t v7 = dr7::kIdle | uint64_t(Rw::write) << dr7::rw_shift(0) |
                        uint64_t(Len::b4) << dr7::len_shift(0);
    report_fault(debugreg::write_safe(5, v7), ExInfo(), "MOV to DR5");
    got = debugreg::read(7);
    report(got == v7, "MOV to DR5 writes DR7 (0x%lx, wrote 0x%lx)", got, v7);
    const uint64_t w7 = dr7::kIdle | uint64_t(Rw::read_write) << dr7::rw_shift(3);
    debugreg::write(7, w7);
    SafeResult<uint64_t> r5 = debugreg::read_safe(5);
    report(r5.ok() && r5.value == w7, "MOV from DR5 reads DR7 (0x%lx, %s)", r5.value,
           r5.ok() ? "no fault" : "faulted");
    debugreg::write(6, dr6::kIdle);
    debugreg::write(7, dr7::kIdle);
  }
  {
    ReportPrefix q("CR4.DE set");
    cpu::write_cr4(cr4 | cpu::cr4::DE);
    report_fault(debugreg::read_safe(4).ex, ExInfo(Vec::UD), "MOV from DR4");
    report_fault(debugreg::write_safe(4, dr6::kIdle), ExInfo(Vec::UD), "MOV to DR4");
    report_fault(debugreg::read_safe(5).ex, ExInfo(Vec::UD), "MOV from DR5");
    report_fault(debugreg::write_safe(5, dr7::kIdle), ExInfo(Vec::UD), "MOV to DR5");
    report_fault(debugreg::read_safe(6).ex, ExInfo(), "MOV from DR6 still works");
    report_fault(debugreg::read_safe(7).ex, ExInfo(), "MOV from DR7 still works");
  }
  cpu::write_cr4(cr4);
  report(cpu::read_cr4() == cr4, "CR4 restored (0x%lx)", cpu::read_cr4());
}

// ---------------------------------------------------------------------------
// Instruction breakpoints and RF.

constinit volatile uint64_t exec_counter = 0;

void exec_breakpoints() {
  ReportPrefix p("execute breakpoints");
  for (unsigned n = 0; n < debugreg::kCount; ++n) {
    report_prefix_pushf("DR%u", n);
    DbScope s;
    db_log.set_rf = true;
    exec_counter = 0;
    {
      debugreg::ScopedBreakpoint bp(n, db_exec_insn, Rw::exec, Len::b1);
      db_exec_fn(&exec_counter);
    }
    const Hit h = first_hit();
    const uint64_t want = dr6::kIdle | dr6::b(n);
    report(db_log.count == 1 && h.rip == addr(db_exec_insn),
           "one #DB, before the instruction (%u #DBs, RIP %s)", db_log.count,
           h.rip == addr(db_exec_insn) ? "at it" : "elsewhere");
    report(db_log.count >= 1 && h.dr6 == want, "DR6 0x%lx (expected 0x%lx)", h.dr6, want);
    report(exec_counter == 1, "the instruction ran once (%lu)", exec_counter);
    report_prefix_pop();
  }
}

void resume_flag() {
  ReportPrefix p("RF");
  {
    DbScope s;
    db_log.set_rf = true;
    exec_counter = 0;
    {
      debugreg::ScopedBreakpoint bp(0, db_exec_insn, Rw::exec, Len::b1);
      db_exec_fn(&exec_counter);
    }
    report(db_log.count == 1 && exec_counter == 1,
           "IRET with RF set: the instruction runs without a second #DB (%u #DBs, ran %lu)",
           db_log.count, exec_counter);
  }
  {
    DbScope s;
    db_log.set_rf = true;
    db_log.rf_from = 1;
    exec_counter = 0;
    {
      debugreg::ScopedBreakpoint bp(1, db_exec_insn, Rw::exec, Len::b1);
      db_exec_fn(&exec_counter);
    }
    const bool same = db_log.count == 2 && db_log.hits[0].rip == addr(db_exec_insn) &&
                      db_log.hits[1].rip == addr(db_exec_insn);
    report(same && exec_counter == 1,
           "IRET without RF: the breakpoint fires again on the same instruction (%u #DBs, ran %lu)",
           db_log.count, exec_counter);
  }
  {
    DbScope s;
    db_log.set_rf = true;
    exec_counter = 0;
    {
      debugreg::ScopedBreakpoint bp(2, db_exec_insn, Rw::exec, Len::b1);
      db_exec_fn(&exec_counter);
      db_exec_fn(&exec_counter);
    }
    report(db_log.count == 2 && exec_counter == 2,
           "RF is cleared once the instruction completes: its next run traps again (%u #DBs, "
           "ran %lu)",
           db_log.count, exec_counter);
  }
}

// ---------------------------------------------------------------------------
// Data breakpoints.

alignas(64) constinit volatile uint8_t watch_area[64] = {};

enum class Op { store8, load8, store16 };

uint64_t op_end(Op op) {
  switch (op) {
    case Op::store8: return addr(db_store8_end);
    case Op::load8: return addr(db_load8_end);
    case Op::store16: return addr(db_store16_end);
  }
  return 0;
}

// One access under breakpoint n: PASS when it trapped exactly when `hit`
// says, once, right after the instruction, with exactly Bn in DR6.
void check_access(unsigned n, Op op, volatile uint8_t* p, bool hit, const char* what) {
  reset_log();
  switch (op) {
    case Op::store8: db_store8(p, 0x5a); break;
    case Op::load8: db_load8(p); break;
    case Op::store16: db_store16(p, 0x5a5a); break;
  }
  if (!hit) {
    report(db_log.count == 0, "%s: no #DB (%u taken)", what, db_log.count);
    return;
  }
  const Hit h = first_hit();
  const uint64_t want = dr6::kIdle | dr6::b(n);
  report(db_log.count == 1 && h.rip == op_end(op) && h.dr6 == want,
         "%s: one #DB after it (%u #DBs, RIP %s, DR6 0x%lx, expected 0x%lx)", what, db_log.count,
         h.rip == op_end(op) ? "after it" : "elsewhere", h.dr6, want);
}

void data_breakpoints() {
  ReportPrefix p("data breakpoints");
  constexpr Len kLens[] = {Len::b1, Len::b2, Len::b4, Len::b8};
  constexpr Rw kRws[] = {Rw::write, Rw::read_write};
  for (unsigned n = 0; n < debugreg::kCount; ++n) {
    for (Rw rw : kRws) {
      for (Len len : kLens) {
        const unsigned bytes = debugreg::len_bytes(len);
        report_prefix_pushf("DR%u %s %u-byte", n, debugreg::rw_name(rw), bytes);
        DbScope s;
        // 32-byte aligned: aligned for every length.
        volatile uint8_t* a = watch_area + 32;
        {
          debugreg::ScopedBreakpoint bp(n, a, rw, len);
          check_access(n, Op::store8, a, true, "byte store to its first byte");
          check_access(n, Op::store8, a + bytes - 1, true, "byte store to its last byte");
          check_access(n, Op::store8, a - 1, false, "byte store just below it");
          check_access(n, Op::store8, a + bytes, false, "byte store just above it");
          check_access(n, Op::store16, a - 1, true, "word store straddling its start");
          check_access(n, Op::load8, a, rw == Rw::read_write,
                       rw == Rw::write ? "byte load (a write breakpoint ignores reads)"
                                       : "byte load from its first byte");
        }
        report_prefix_pop();
      }
    }
  }
}

// A data breakpoint hit in the middle of a REP string instruction.
void rep_string() {
  ReportPrefix p("REP string");
  constexpr uint64_t kCount = 32, kWatched = 13;
  alignas(64) static volatile uint8_t dst[kCount + 8], src[kCount];
  {
    ReportPrefix q("REP STOSB, write breakpoint on a destination byte");
    DbScope s;
    for (auto& b : dst) b = 0;
    {
      debugreg::ScopedBreakpoint bp(3, dst + kWatched, Rw::write, Len::b1);
      db_rep_stosb(dst, 0xa5, kCount);
    }
    const Hit h = first_hit();
    report(db_log.count == 1 && h.dr6 == (dr6::kIdle | dr6::kB3),
           "one #DB, DR6 0x%lx (%u #DBs)", h.dr6, db_log.count);
    report(h.rip == addr(db_rep_stosb_insn), "RIP still at the REP STOSB (%s)",
           h.rip == addr(db_rep_stosb_insn) ? "yes" : "elsewhere");
    const uint64_t want_rcx = kCount - kWatched - 1;
    report(h.rcx == want_rcx && h.rdi == addr(dst + kWatched + 1),
           "after the iteration that stored it: RCX %lu (expected %lu), RDI dst+%ld "
           "(expected dst+%lu)",
           h.rcx, want_rcx, int64_t(h.rdi - addr(dst)), kWatched + 1);
    bool filled = true;
    for (uint64_t i = 0; i < kCount; ++i) filled &= dst[i] == 0xa5;
    report(filled && dst[kCount] == 0, "resumed: all %lu bytes stored, none beyond", kCount);
  }
  {
    ReportPrefix q("REP MOVSB, read/write breakpoint on a source byte");
    DbScope s;
    for (uint64_t i = 0; i < kCount; ++i) src[i] = uint8_t(i + 1);
    for (auto& b : dst) b = 0;
    {
      debugreg::ScopedBreakpoint bp(0, src + kWatched, Rw::read_write, Len::b1);
      db_rep_movsb(dst, src, kCount);
    }
    const Hit h = first_hit();
    report(db_log.count == 1 && h.dr6 == (dr6::kIdle | dr6::kB0),
           "one #DB, DR6 0x%lx (%u #DBs)", h.dr6, db_log.count);
    report(h.rip == addr(db_rep_movsb_insn), "RIP still at the REP MOVSB (%s)",
           h.rip == addr(db_rep_movsb_insn) ? "yes" : "elsewhere");
    const uint64_t want_rcx = kCount - kWatched - 1;
    report(h.rcx == want_rcx && h.rsi == addr(src + kWatched + 1) &&
               h.rdi == addr(dst + kWatched + 1),
           "after the iteration that read it: RCX %lu (expected %lu), RSI src+%ld, RDI dst+%ld "
           "(expected +%lu)",
           h.rcx, want_rcx, int64_t(h.rsi - addr(src)), int64_t(h.rdi - addr(dst)),
           kWatched + 1);
    bool copied = true;
    for (uint64_t i = 0; i < kCount; ++i) copied &= dst[i] == src[i];
    report(copied && dst[kCount] == 0, "resumed: all %lu bytes copied, none beyond", kCount);
  }
}

// ---------------------------------------------------------------------------
// DR7.GD.

struct GdInsn {
  const char* name;
  void (*fn)(uint64_t);
  unsigned dr;
  bool write;
};
#define GD_PAIR(n) {"MOV from DR" #n, db_gd_rd##n, n, false}, {"MOV to DR" #n, db_gd_wr##n, n, true}
constexpr GdInsn kGdInsns[] = {GD_PAIR(0), GD_PAIR(1), GD_PAIR(2),
                               GD_PAIR(3), GD_PAIR(6), GD_PAIR(7)};
#undef GD_PAIR
constexpr uint64_t kMovDrLength = 3;

void general_detect() {
  ReportPrefix p("DR7.GD");
  const bool tcg = known_tcg_difference(
      "DR7.GD is ignored: no MOV to or from a DR raises #DB (QEMU 7.2 "
      "target/i386/tcg/sysemu/bpt_helper.c, helper_get_dr and helper_set_dr, never look at GD)");
  for (const GdInsn& g : kGdInsns) {
    ReportPrefix q(g.name);
    DbScope s;
    // What a write stores once the MOV runs: the register's idle value.
    const uint64_t v = g.dr == 6 ? dr6::kIdle : g.dr == 7 ? dr7::kIdle : 0;
    const uint64_t insn = addr(reinterpret_cast<const void*>(g.fn));
    db_log.escape = insn + kMovDrLength;
    debugreg::write(7, dr7::kIdle | dr7::kGd);
    g.fn(v);
    const Hit h = first_hit();
    const uint64_t want = dr6::kIdle | dr6::kBd;
    report_xfail(tcg, db_log.count == 1 && h.rip == insn,
                 "one #DB, before the MOV (%u #DBs, RIP %s)", db_log.count,
                 h.rip == insn ? "at it" : "elsewhere");
    report_xfail(tcg, db_log.count >= 1 && h.dr6 == want, "DR6 0x%lx (expected 0x%lx, BD)",
                 h.dr6, want);
    report_xfail(tcg, db_log.count >= 1 && !(h.dr7 & dr7::kGd),
                 "GD clear in the handler (DR7 0x%lx)", h.dr7);
  }
}

// ---------------------------------------------------------------------------
// Single-step and the MOV SS / POP SS shadow.

struct Step {
  const char* what;
  const char* lands;
  void (*fn)();
  const char* l1;  // the instruction under test
  const char* l2;
  const char* l3;
  const char* l4;  // where the handler stops TF
  bool shadow;     // MOV SS or POP SS: the step after _1 is held past _2
};

// Checks where the #DBs of one run landed: after _1 at _2 (or, under a
// shadow, after _2 at _3), then one per instruction up to _4.
void check_steps(const Step& st, bool xfail) {
  const uint64_t first = addr(st.shadow ? st.l3 : st.l2);
  const Hit h = first_hit();
  const uint64_t base = addr(st.l1);
  report_xfail(xfail, db_log.count >= 1 && h.rip == first,
               "first single-step #DB %s (RIP _1+%ld, expected _1+%ld)", st.lands,
               int64_t(h.rip - base), int64_t(first - base));
  report(db_log.count >= 1 && h.dr6 == (dr6::kIdle | dr6::kBs), "DR6 0x%lx (expected 0x%lx, BS)",
         h.dr6, dr6::kIdle | dr6::kBs);
  const unsigned want = st.shadow ? 2 : 3;
  bool each = db_log.count == want;
  for (unsigned i = 1; each && i < want; ++i)
    each = db_log.hits[i].rip == addr(i + 1 == want ? st.l4 : st.l3) &&
           db_log.hits[i].dr6 == (dr6::kIdle | dr6::kBs);
  report_xfail(xfail, each,
               "then one #DB per instruction up to the stop (%u #DBs, expected %u)",
               db_log.count, want);
}

void single_step() {
  ReportPrefix p("single-step");
  const Step steps[] = {
      {"NOP", "after it", db_ss_nop, db_ss_nop_1, db_ss_nop_2, db_ss_nop_3, db_ss_nop_4, false},
      {"MOV DS", "after it (no shadow)", db_ss_movds, db_ss_movds_1, db_ss_movds_2,
       db_ss_movds_3, db_ss_movds_4, false},
      {"MOV SS", "after the instruction that follows it", db_ss_movss, db_ss_movss_1,
       db_ss_movss_2, db_ss_movss_3, db_ss_movss_4, true},
      {"STI", "right after it (STI's shadow holds interrupts only)", db_ss_sti, db_ss_sti_1,
       db_ss_sti_2, db_ss_sti_3, db_ss_sti_4, false},
  };
  for (const Step& st : steps) {
    ReportPrefix q(st.what);
    DbScope s;
    db_log.stop_tf = addr(st.l4);
    st.fn();
    const bool tcg = st.fn == db_ss_sti && known_tcg_difference(
        "STI holds a single-step #DB for one instruction as MOV SS does: both end the "
        "translation block with the interrupt-inhibit flag, and QEMU's stable fix for "
        "MOV SS skips helper_single_step for any such block (target/i386/tcg/translate.c, "
        "do_gen_eob_worker)");
    check_steps(st, tcg);
  }

  // A data breakpoint on MOV SS's own operand is held the same way.
  {
    ReportPrefix q("MOV SS from a watched word");
    DbScope s;
    static uint16_t ss_copy;
    asm volatile("mov %%ss, %0" : "=m"(ss_copy));
    {
      debugreg::ScopedBreakpoint bp(1, &ss_copy, Rw::read_write, Len::b2);
      db_movss_mem(&ss_copy);
    }
    const Hit h = first_hit();
    const bool tcg = known_tcg_difference(
        "a data breakpoint on the operand of MOV SS is taken right after it instead of after "
        "the next instruction (target/i386/tcg/sysemu/bpt_helper.c, breakpoint_handler, raises "
        "#DB at once)");
    report_xfail(tcg, db_log.count == 1 && h.rip == addr(db_movss_mem_2),
                 "one #DB, after the instruction that follows it (%u #DBs, RIP at the "
                 "instruction after MOV SS%+ld, expected %+ld)",
                 db_log.count, int64_t(h.rip - addr(db_movss_mem_1)),
                 int64_t(addr(db_movss_mem_2) - addr(db_movss_mem_1)));
    report(db_log.count >= 1 && h.dr6 == (dr6::kIdle | dr6::kB1), "DR6 0x%lx (expected 0x%lx)",
           h.dr6, dr6::kIdle | dr6::kB1);
  }
}

alignas(16) constinit uint8_t compat_stack[1024] = {};

void pop_ss_compat() {
  ReportPrefix p("single-step: POP SS (compatibility mode, CPL3)");
  if (!below_4g(db_ss_popss, 64) || !below_4g(compat_stack, sizeof(compat_stack))) {
    report_skip("the image lies above 4 GiB: compatibility mode cannot run it");
    return;
  }
  DbScope s;
  db_log.stop_tf = addr(db_ss_popss_4);
  UserResult r = run_user_compat(
      uint32_t(addr(db_ss_popss)),
      CompatRegs{.esp = uint32_t(addr(compat_stack + sizeof(compat_stack)))});
  report_fault(r.ex, ExInfo(), "the CPL3 code ran to its end");
  const Step st{"POP SS", "after the instruction that follows it", nullptr, db_ss_popss_1,
                db_ss_popss_2, db_ss_popss_3, db_ss_popss_4, true};
  check_steps(st, false);
  const Hit h = first_hit();
  report(db_log.count >= 1 && h.cs == desc::kUserCs32, "the #DB came from CPL3 compatibility "
         "mode (CS 0x%lx)", h.cs);
}

// ---------------------------------------------------------------------------
// ICEBP.

void icebp() {
  ReportPrefix p("ICEBP");
  const char* kTcg =
      "ICEBP (F1) raises #UD: QEMU 7.2 decodes it only when built with WANT_ICEBP "
      "(target/i386/tcg/translate.c), which it is not";
  {
    ReportPrefix q("CPL0");
    DbScope s;
    ExInfo ex = catch_fault([] { db_icebp(); });
    const ExInfo got = db_log.count ? ExInfo(Vec::DB) : ex;
    const bool tcg = known_tcg_difference(kTcg);
    report_fault_xfail(tcg, got, ExInfo(Vec::DB), "ICEBP");
    const Hit h = first_hit();
    report_xfail(tcg, db_log.count == 1 && h.rip == addr(db_icebp_end),
                 "one #DB, a trap: RIP after it (%u #DBs)", db_log.count);
    report_xfail(tcg, db_log.count >= 1 && h.dr6 == dr6::kIdle,
                 "DR6 0x%lx (expected 0x%lx: no status bit)", h.dr6, dr6::kIdle);
  }
  {
    ReportPrefix q("CPL3");
    DbScope s;
    UserResult r = run_user([] { db_icebp(); });
    const ExInfo got = db_log.count ? ExInfo(Vec::DB) : r.ex;
    const bool tcg = known_tcg_difference(kTcg);
    report_fault_xfail(tcg, got, ExInfo(Vec::DB),
                       "ICEBP (the gate's DPL 0 does not apply to it)");
    report_xfail(tcg, r.ok() && db_log.count == 1,
                 "the CPL3 code went on after the #DB (%u #DBs)", db_log.count);
  }
}

}  // namespace

int main() {
  registers();
  dr4_dr5();
  exec_breakpoints();
  resume_flag();
  data_breakpoints();
  rep_string();
  general_detect();
  single_step();
  pop_ss_compat();
  icebp();
  return report_summary();
}
