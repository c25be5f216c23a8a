// eventinj: how the CPU delivers events, beyond "the right vector arrives"
// (Intel SDM vol.3A ch.6 "Interrupt and Exception Handling", AMD APM vol.2
// ch.8 "Exceptions and Interrupts"). Stacks: a gate with IST n runs its
// handler on the stack TSS.IST[n] names, an NMI too, and without IST on
// the interrupted stack; either way RSP is aligned down to 16 before the
// 64-bit frame is pushed (SDM §6.14.2, §6.14.5; APM §8.9 "Long-Mode
// Interrupt Control Transfers"). An event raised at CPL3 (INT n, a fault,
// an external interrupt) switches to TSS.RSP0, loads SS with the null
// selector and pushes the user SS:RSP (SDM §6.14.4; APM §8.9). Double
// faults: a #PF whose delivery meets a not-present #PF gate (#NP, a
// contributory fault) or an unmapped stack (a second #PF) becomes #DF with
// error code 0, on the #DF gate's IST (SDM §6.15 "Interrupt 8", Table 6-5;
// APM §8.2.9). NMIs: while the NMI handler runs, further NMIs are held
// until its IRET (SDM §6.7.1 "Handling Multiple NMIs"; APM §8.2.3), and
// several sent meanwhile are held as one pending NMI, not queued; sent by
// this CPU's own ICR and, with a second CPU, by another one. Interrupt
// shadows: a maskable interrupt pending when STI sets IF is taken after
// the instruction that follows STI, and not at all if that is CLI (SDM
// vol.2B "STI"); after MOV SS neither a single-step trap nor an interrupt
// is taken before the next instruction completes (SDM §6.8.3 "Masking
// Exceptions and Interrupts When Switching Stacks"). STI directly followed
// by MOV SS is left alone: which shadow covers which boundary then is not
// pinned down. IRET to CPL3 checks the CS and SS it pops in the order of
// its pseudocode (SDM vol.2A "IRET/IRETD/IRETQ", PROTECTED-MODE-RETURN and
// RETURN-TO-OUTER-PRIVILEGE-LEVEL): a null CS is #GP(0), an out-of-limit,
// non-code or RPL != DPL CS #GP(selector), a not-present CS #NP(selector);
// an SS whose RPL or DPL differs from CS.RPL, or that is not writable
// data, #GP(selector), a null SS at CPL3 #GP(0), a not-present SS
// #SS(selector) (QEMU's TCG raises #NP there: XFAIL). An external
// interrupt during a REP string instruction is taken between iterations,
// with RCX/RSI/RDI describing the work left, and the instruction resumes
// and finishes the job exactly (SDM vol.2B "REP/REPE/REPZ/REPNE/REPNZ",
// §6.6 "Program or Task Restart"). Every gate, IST pointer, RSP0, GDT
// slot, mapping and timer a check changes is put back by scope, whether
// the check passed or not.
#include <cstdint>
#include <initializer_list>

#include "apic/apic.h"
#include "cpu/desc.h"
#include "cpu/exceptions.h"
#include "mem/paging.h"
#include "cpu/processor.h"
#include "cpu/regs.h"
#include "cpu/usermode.h"
#include "mem/memory.h"
#include "rt/expect.h"
#include "rt/format.h"
#include "rt/report.h"
#include "smp/smp.h"
#include "timer/clock.h"

namespace {

constexpr uint8_t kSoftVector = 0x60;   // INT n, IST and CPL3 checks
constexpr uint8_t kIpiVector = 0x61;    // self-IPI for the STI shadow
constexpr uint8_t kTimerVector = 0x62;  // APIC timer
constexpr unsigned kNmi = static_cast<unsigned>(Vec::NMI);
constexpr unsigned kPf = static_cast<unsigned>(Vec::PF);
constexpr unsigned kDf = static_cast<unsigned>(Vec::DF);
constexpr unsigned kUd = static_cast<unsigned>(Vec::UD);
constexpr unsigned kDb = static_cast<unsigned>(Vec::DB);
constexpr uint64_t kUd2Length = 2;
// The 64-bit frame: RIP, CS, RFLAGS, RSP, SS (SDM vol.3 §6.14.2, Figure 6-9).
constexpr uint64_t kHardwareFrameBytes = 5 * 8;
constexpr uint64_t kStackAlign = 16;
constexpr uint64_t kDeliveryTimeoutNs = 200'000'000;

uint64_t align_down(uint64_t v) { return v & ~(kStackAlign - 1); }

// Where the CPU started pushing its frame: lib/cpu/isr.S puts the Regs,
// the vector and the error code right below the hardware frame.
uint64_t frame_top(const ExceptionFrame* f) {
  return reinterpret_cast<uint64_t>(f) + sizeof(ExceptionFrame) + kHardwareFrameBytes;
}

uint16_t read_ss() {
  uint16_t v;
  asm volatile("mov %%ss, %0" : "=r"(v));
  return v;
}

// What the last recorded event looked like.
struct Seen {
  unsigned count;
  uint64_t top, rip, rsp, cs, ss, rflags, error_code;
  uint16_t ss_in_handler;
};
Seen seen;

void record(const ExceptionFrame* f) {
  __atomic_add_fetch(&seen.count, 1, __ATOMIC_RELAXED);
  seen.top = frame_top(f);
  seen.rip = f->regs.rip;
  seen.rsp = f->regs[Gpr::rsp];
  seen.cs = f->regs.cs;
  seen.ss = f->regs.ss;
  seen.rflags = f->regs.rflags;
  seen.error_code = f->error_code;
  seen.ss_in_handler = read_ss();
}

void reset_seen() {
  seen = Seen{};
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
}
unsigned seen_count() { return __atomic_load_n(&seen.count, __ATOMIC_ACQUIRE); }

bool record_and_return(ExceptionFrame* f) {
  record(f);
  return true;
}
bool record_and_skip_ud2(ExceptionFrame* f) {
  record(f);
  f->regs.rip += kUd2Length;
  return true;
}
// Records, then lets the fault go on to catch_fault.
bool record_and_pass(ExceptionFrame* f) {
  record(f);
  return false;
}

// ---- scoped changes to the IDT, the TSS and the GDT ----

class ScopedGateIst {
 public:
  ScopedGateIst(unsigned vector, unsigned ist) : vector_(vector), old_(desc::gate_ist(vector)) {
    desc::set_gate_ist(vector, ist);
  }
  ~ScopedGateIst() { desc::set_gate_ist(vector_, old_); }
  ScopedGateIst(const ScopedGateIst&) = delete;
  ScopedGateIst& operator=(const ScopedGateIst&) = delete;

 private:
  unsigned vector_, old_;
};

class ScopedGateDpl {
 public:
  ScopedGateDpl(unsigned vector, unsigned dpl) : vector_(vector), old_(desc::gate_dpl(vector)) {
    desc::set_gate_dpl(vector, dpl);
  }
  ~ScopedGateDpl() { desc::set_gate_dpl(vector_, old_); }
  ScopedGateDpl(const ScopedGateDpl&) = delete;
  ScopedGateDpl& operator=(const ScopedGateDpl&) = delete;

 private:
  unsigned vector_, old_;
};

class ScopedGateNotPresent {
 public:
  explicit ScopedGateNotPresent(unsigned vector)
      : vector_(vector), old_(desc::gate_present(vector)) {
    desc::set_gate_present(vector, false);
  }
  ~ScopedGateNotPresent() { desc::set_gate_present(vector_, old_); }
  ScopedGateNotPresent(const ScopedGateNotPresent&) = delete;
  ScopedGateNotPresent& operator=(const ScopedGateNotPresent&) = delete;

 private:
  unsigned vector_;
  bool old_;
};

// A TSS stack pointer for the scope: `which` is an IST slot (1-7), or 0
// for RSP0. (The TSS is packed, so its fields are copied, not pointed to.)
constexpr unsigned kRsp0 = 0;
uint64_t tss_stack(unsigned which);
void set_tss_stack(unsigned which, uint64_t value);

class ScopedTssStack {
 public:
  ScopedTssStack(unsigned which, uint64_t value) : which_(which), old_(tss_stack(which)) {
    set_tss_stack(which, value);
  }
  ~ScopedTssStack() { set_tss_stack(which_, old_); }
  ScopedTssStack(const ScopedTssStack&) = delete;
  ScopedTssStack& operator=(const ScopedTssStack&) = delete;

 private:
  unsigned which_;
  uint64_t old_;
};

class ScopedTestDescriptor {
 public:
  ScopedTestDescriptor(unsigned slot, uint64_t d)
      : slot_(slot), old_(desc::test_descriptor(slot)), sel_(desc::set_test_descriptor(slot, d)) {}
  ~ScopedTestDescriptor() { desc::set_test_descriptor(slot_, old_); }
  uint16_t selector() const { return sel_; }
  ScopedTestDescriptor(const ScopedTestDescriptor&) = delete;
  ScopedTestDescriptor& operator=(const ScopedTestDescriptor&) = delete;

 private:
  unsigned slot_;
  uint64_t old_;
  uint16_t sel_;
};

// RFLAGS (IF, DF) as they were, whatever the scope did.
class ScopedFlags {
 public:
  ScopedFlags() : saved_(cpu::read_rflags()) {}
  ~ScopedFlags() { cpu::write_rflags(saved_); }
  ScopedFlags(const ScopedFlags&) = delete;
  ScopedFlags& operator=(const ScopedFlags&) = delete;

 private:
  uint64_t saved_;
};

class ScopedTimerStop {
 public:
  ScopedTimerStop() = default;
  ~ScopedTimerStop() { apic::timer_stop(); }
  ScopedTimerStop(const ScopedTimerStop&) = delete;
  ScopedTimerStop& operator=(const ScopedTimerStop&) = delete;
};

// main runs on the BSP, whose TSS this is.
desc::Tss* my_tss() { return desc::bsp_tss(); }
uint64_t tss_stack(unsigned which) {
  return which == kRsp0 ? my_tss()->rsp[0] : my_tss()->ist[which - 1];
}
void set_tss_stack(unsigned which, uint64_t value) {
  if (which == kRsp0)
    my_tss()->rsp[0] = value;
  else
    my_tss()->ist[which - 1] = value;
}

bool self_nmi() { return apic::send_nmi(apic::id()); }

// ---- IST stack switching ----

constexpr unsigned kTestStackSize = 8192;
alignas(16) uint8_t test_stacks[desc::kIstLast - desc::kIstFirstFree + 1][kTestStackSize];

uint64_t test_stack_top(unsigned ist) {
  return reinterpret_cast<uint64_t>(test_stacks[ist - desc::kIstFirstFree] + kTestStackSize);
}

// INT n with the current RSP moved down by `skew` bytes; returns that RSP.
uint64_t int_soft_vector(uint64_t skew) {
  uint64_t rsp;
  asm volatile(
      "sub %[skew], %%rsp\n"
      "mov %%rsp, %[rsp]\n"
      "int %[v]\n"
      "add %[skew], %%rsp\n"
      : [rsp] "=&r"(rsp)
      : [skew] "r"(skew), [v] "i"(kSoftVector)
      : "memory");
  return rsp;
}

void ist_switching() {
  ReportPrefix p("IST");
  ScopedHandler h(kSoftVector, record_and_return);
  for (unsigned ist = desc::kIstFirstFree; ist <= desc::kIstLast; ++ist) {
    // Odd slots get a pointer 8 bytes off alignment, which the CPU aligns.
    const uint64_t top = test_stack_top(ist) - (ist % 2 ? 8 : 0);
    ScopedTssStack slot(ist, top);
    ScopedGateIst gate(kSoftVector, ist);
    reset_seen();
    const uint64_t rsp = int_soft_vector(0);
    report(seen_count() == 1 && seen.top == align_down(top),
           "INT 0x%x through IST%u: frame pushed from 0x%lx (IST%u 0x%lx, aligned 0x%lx)",
           kSoftVector, ist, seen.top, ist, top, align_down(top));
    report(seen_count() == 1 && seen.rsp == rsp, "IST%u: the frame holds the interrupted RSP (0x%lx, was 0x%lx)",
           ist, seen.rsp, rsp);
  }
  {
    ReportPrefix q("no IST");
    for (uint64_t skew : {uint64_t{0}, uint64_t{8}}) {
      reset_seen();
      const uint64_t rsp = int_soft_vector(skew);
      report(seen_count() == 1 && seen.top == align_down(rsp) && seen.rsp == rsp,
             "INT 0x%x with RSP 0x%lx: frame pushed from 0x%lx on the same stack, saved RSP 0x%lx",
             kSoftVector, rsp, seen.top, seen.rsp);
    }
  }
  {
    // An exception through an IST gate.
    const unsigned ist = desc::kIstFirstFree + 1;
    ScopedHandler ud(kUd, record_and_skip_ud2);
    ScopedTssStack slot(ist, test_stack_top(ist));
    ScopedGateIst gate(kUd, ist);
    reset_seen();
    asm volatile("ud2" ::: "memory");
    report(seen_count() == 1 && seen.top == test_stack_top(ist),
           "#UD through IST%u: frame pushed from 0x%lx (IST%u 0x%lx)", ist, seen.top, ist,
           test_stack_top(ist));
  }
  {
    ReportPrefix q("NMI");
    ScopedHandler nmi(kNmi, record_and_return);
    reset_seen();
    const bool sent = self_nmi();
    const bool came = timer::wait_until([] { return seen_count() >= 1; }, kDeliveryTimeoutNs);
    const uint64_t want = tss_stack(desc::kIstNmi);
    report(sent && came && seen.top == want,
           "self-NMI through the ICR runs on the NMI gate's IST%u (frame from 0x%lx, IST 0x%lx)",
           desc::kIstNmi, came ? seen.top : 0, want);

    const unsigned ist = desc::kIstLast;
    ScopedTssStack slot(ist, test_stack_top(ist));
    ScopedGateIst gate(kNmi, ist);
    reset_seen();
    const bool sent2 = self_nmi();
    const bool came2 = timer::wait_until([] { return seen_count() >= 1; }, kDeliveryTimeoutNs);
    report(sent2 && came2 && seen.top == test_stack_top(ist),
           "with the NMI gate moved to IST%u, the NMI runs there (frame from 0x%lx, IST 0x%lx)",
           ist, came2 ? seen.top : 0, test_stack_top(ist));
  }
}

// ---- double faults ----

void double_faults() {
  ReportPrefix p("#DF");
  mem::PageResult page = mem::alloc_pages(1);
  if (!page.ok()) report_abort("no page to unmap: %s", mem::alloc_error_str(page.error));
  const uint64_t va = page.pa.value;
  {
    paging::SavedRange saved{VirtAddr(va), kPageSize};
    if (!saved.ok() || paging::unmap(VirtAddr(va), kPageSize) != paging::MapStatus::ok)
      report_abort("cannot unmap a page for the #DF checks");
    volatile uint64_t* hole = reinterpret_cast<volatile uint64_t*>(va);
    auto touch = [hole] { (void)*hole; };

    report_fault(catch_fault(touch), ExInfo(Vec::PF, 0), "read of an unmapped page: #PF");

    const uint64_t df_ist = tss_stack(desc::kIstDoubleFault);
    ScopedHandler df(kDf, record_and_pass);
    {
      reset_seen();
      ExInfo ex;
      {
        ScopedGateNotPresent np(kPf);
        ex = catch_fault(touch);
      }
      report_fault(ex, ExInfo(Vec::DF, 0), "#PF through a not-present #PF gate");
      report(seen_count() == 1 && seen.top == df_ist,
             "that #DF ran on IST%u (frame from 0x%lx, IST 0x%lx)", desc::kIstDoubleFault,
             seen.top, df_ist);
    }
    report_fault(catch_fault(touch), ExInfo(Vec::PF, 0), "#PF gate present again: #PF");
    {
      const unsigned ist = desc::kIstFirstFree;
      reset_seen();
      ExInfo ex;
      {
        // The #PF gate's stack is the unmapped page itself.
        ScopedTssStack slot(ist, va + kPageSize);
        ScopedGateIst gate(kPf, ist);
        ex = catch_fault(touch);
      }
      report_fault(ex, ExInfo(Vec::DF, 0), "#PF whose IST stack is unmapped");
      report(seen_count() == 1 && seen.top == df_ist,
             "that #DF ran on IST%u (frame from 0x%lx, IST 0x%lx)", desc::kIstDoubleFault,
             seen.top, df_ist);
    }
    report_fault(catch_fault(touch), ExInfo(Vec::PF, 0), "#PF gate back on its own stack: #PF");
  }
  report(read_safe(reinterpret_cast<void*>(va)).ok(), "the page is mapped again");
  if (mem::free_pages(page.pa, 1) != mem::AllocError::none) report_abort("freeing the page failed");
}

// ---- NMI blocking ----

struct NmiRun {
  unsigned entries, depth, max_depth;
  unsigned to_send;              // NMIs the first handler sends itself
  bool remote;                   // another CPU sends them instead
  unsigned in_handler, remote_sent;
  unsigned entries_before_iret;  // as the first handler returns
  uint64_t first_return_rip, second_rip;
  bool sent_ok;
};
NmiRun nmi_run;

template <typename T>
T load(const T& v) {
  return __atomic_load_n(&v, __ATOMIC_ACQUIRE);
}

bool nmi_blocking_handler(ExceptionFrame* f) {
  NmiRun& r = nmi_run;
  const unsigned entry = __atomic_add_fetch(&r.entries, 1, __ATOMIC_ACQ_REL);
  if (++r.depth > r.max_depth) r.max_depth = r.depth;
  if (entry == 1) {
    r.first_return_rip = f->regs.rip;
    if (r.remote) {
      __atomic_store_n(&r.in_handler, 1, __ATOMIC_RELEASE);
      r.sent_ok = timer::wait_until([] { return load(nmi_run.remote_sent) != 0; },
                                    kDeliveryTimeoutNs);
    } else {
      r.sent_ok = true;
      for (unsigned i = 0; i < r.to_send; ++i) r.sent_ok = self_nmi() && r.sent_ok;
    }
    // A nested NMI would run now, inside this one, and be counted.
    timer::wait_until([] { return load(nmi_run.entries) > 1; }, 5'000'000);
    r.entries_before_iret = load(r.entries);
  } else if (entry == 2) {
    r.second_rip = f->regs.rip;
  }
  --r.depth;
  return true;
}

void remote_nmis(void*) {
  if (!timer::wait_until([] { return load(nmi_run.in_handler) != 0; }, kDeliveryTimeoutNs)) return;
  const uint32_t dest = smp::apic_id_of(0);
  for (unsigned i = 0; i < nmi_run.to_send; ++i) apic::send_nmi(dest);
  __atomic_store_n(&nmi_run.remote_sent, 1, __ATOMIC_RELEASE);
}

void nmi_blocking_case(unsigned to_send, bool remote) {
  nmi_run = NmiRun{};
  nmi_run.to_send = to_send;
  nmi_run.remote = remote;
  {
    ScopedHandler h(kNmi, nmi_blocking_handler);
    // No IST for the NMI gate here: a nested NMI, should one get through,
    // then pushes below the first frame instead of over it.
    ScopedGateIst gate(kNmi, 0);
    if (remote) on_cpu_async(1, remote_nmis, nullptr);
    const bool sent = self_nmi();
    timer::wait_until([] { return load(nmi_run.entries) >= 2; }, kDeliveryTimeoutNs);
    // Time for a third one to show up, if one was kept.
    timer::mdelay(10);
    if (remote) smp::wait_idle(1);
    nmi_run.sent_ok = nmi_run.sent_ok && sent;
  }
  const NmiRun& r = nmi_run;
  const char* who = remote ? "CPU 1" : "the handler";
  if (!r.sent_ok) {
    report_fail("%u NMI(s) from %s could not be sent", to_send, who);
    return;
  }
  report(r.entries_before_iret == 1 && r.max_depth == 1,
         "%u NMI(s) sent by %s while the NMI handler runs: held until its IRET (%u entries "
         "before it, nesting depth %u)",
         to_send, who, r.entries_before_iret, r.max_depth);
  report(r.entries == 2, "after the IRET exactly one more NMI arrives (%u in all, expected 2)",
         r.entries);
  if (r.entries >= 2)
    report(r.second_rip == r.first_return_rip,
           "the held NMI is taken right after the IRET, at the interrupted RIP 0x%lx (0x%lx)",
           r.first_return_rip, r.second_rip);
}

void nmi_blocking() {
  ReportPrefix p("NMI blocking");
  nmi_blocking_case(1, false);
  nmi_blocking_case(2, false);
  if (cpu_count() < 2) {
    report_skip("NMIs from another CPU: needs 2 CPUs, have %u", cpu_count());
    return;
  }
  nmi_blocking_case(2, true);
}

// ---- interrupt shadows ----

bool ipi_handler(ExceptionFrame* f) {
  record(f);
  apic::eoi();
  return true;
}

void db_clear_tf(ExceptionFrame* f) { f->regs.rflags &= ~rflags::kTrap; }
bool db_handler(ExceptionFrame* f) {
  record(f);
  db_clear_tf(f);
  return true;
}

// Periodic APIC timer hits, and where they landed.
struct TimerRun {
  unsigned hits;
  uint64_t lo, hi;          // the code range that counts
  uint64_t forbidden;       // no interrupt may land here
  unsigned in_range, at_forbidden;
  uint64_t rep_rip;         // REP checks: the REP instruction
  unsigned mid_rep;
};
TimerRun timer_run;

bool timer_handler(ExceptionFrame* f) {
  TimerRun& t = timer_run;
  ++t.hits;
  const uint64_t rip = f->regs.rip;
  if (rip >= t.lo && rip < t.hi) ++t.in_range;
  if (rip == t.forbidden) ++t.at_forbidden;
  if (rip == t.rep_rip && f->regs[Gpr::rcx] != 0) ++t.mid_rep;
  apic::eoi();
  return true;
}

uint64_t apic_timer_hz = 0;
constexpr uint64_t kMovSsIterations = 200'000;
constexpr uint64_t kMovSsPeriodNs = 20'000;
constexpr unsigned kMovSsMinHits = 20;
// Rounds of kMovSsIterations until kMovSsMinHits interrupts landed in the
// loop: a loaded host delivers fewer timer interrupts per round.
constexpr unsigned kMovSsMaxRounds = 40;
constexpr uint64_t kCpl3TimerNs = 200'000;

uint64_t measure_timer_hz() { return timer::apic_timer_hz(kTimerVector); }

uint32_t timer_count_for_ns(uint64_t ns) {
  uint64_t c = apic_timer_hz * ns / 1'000'000'000;
  if (c < 16) c = 16;
  if (c > 0xffffffffu) c = 0xffffffffu;
  return static_cast<uint32_t>(c);
}

void sti_shadow() {
  ReportPrefix p("STI shadow");
  ScopedFlags flags;
  ScopedHandler h(kIpiVector, ipi_handler);
  cpu::cli();
  reset_seen();
  const bool sent = apic::send_self(kIpiVector);
  const bool pending =
      timer::wait_until([] { return apic::requested(kIpiVector); }, kDeliveryTimeoutNs);
  report(sent && pending && seen_count() == 0, "with IF=0 the self-IPI waits in IRR");
  if (!pending) return;

  asm volatile("sti; cli" ::: "memory");
  report(seen_count() == 0 && apic::requested(kIpiVector),
         "STI; CLI: not taken in the shadow, still pending (%u taken)", seen_count());

  uint64_t after_sti, after_next;
  asm volatile(
      "lea 1f(%%rip), %0\n"
      "lea 2f(%%rip), %1\n"
      "sti\n"
      "1: nop\n"
      "2: nop\n"
      "cli\n"
      : "=&r"(after_sti), "=&r"(after_next)
      :
      : "memory");
  report(seen_count() == 1 && seen.rip == after_next,
         "STI; NOP: taken after the NOP, at 0x%lx (after STI 0x%lx, after the NOP 0x%lx)",
         seen.rip, after_sti, after_next);
}

void mov_ss_single_step() {
  ScopedFlags flags;
  ScopedHandler h(kDb, db_handler);
  reset_seen();
  uint64_t after_mov_ss, after_next;
  asm volatile(
      "lea 1f(%%rip), %0\n"
      "lea 2f(%%rip), %1\n"
      "mov %%ss, %%eax\n"
      "pushfq\n"
      "orq %[tf], (%%rsp)\n"
      "popfq\n"
      // TF is set from here: a trap is due after the MOV SS.
      "mov %%eax, %%ss\n"
      "1: nop\n"
      "2: nop\n"
      : "=&r"(after_mov_ss), "=&r"(after_next)
      : [tf] "i"(rflags::kTrap)
      : "rax", "memory", "cc");
  report(seen_count() == 1 && seen.rip == after_next,
         "TF set, MOV SS; NOP: one single-step #DB, after the NOP at 0x%lx (after MOV SS 0x%lx, "
         "after the NOP 0x%lx, %u traps)",
         seen.rip, after_mov_ss, after_next, seen_count());
}

// A loop of MOV SS; NOP under a fast periodic timer: the interrupts land
// in the loop but never on the boundary right after a MOV SS.
void mov_ss_interrupts() {
  ScopedFlags flags;
  ScopedHandler h(kTimerVector, timer_handler);
  ScopedTimerStop stop;
  timer_run = TimerRun{};
  // Armed with IF=0; the loop's addresses are stored before STI lets the
  // first interrupt in. The NOP after STI keeps the STI shadow apart from
  // the MOV SS shadows.
  apic::timer_periodic(kTimerVector, timer_count_for_ns(kMovSsPeriodNs), apic::Divide::by1);
  unsigned rounds = 0;
  for (; rounds < kMovSsMaxRounds && timer_run.in_range < kMovSsMinHits; ++rounds) {
    uint64_t n = kMovSsIterations;
    asm volatile(
        "lea 1f(%%rip), %%rdx\n"
        "mov %%rdx, %[lo]\n"
        "lea 2f(%%rip), %%rdx\n"
        "mov %%rdx, %[after]\n"
        "lea 3f(%%rip), %%rdx\n"
        "mov %%rdx, %[hi]\n"
        "mov %%ss, %%eax\n"
        "sti\n"
        "nop\n"
        "1: mov %%eax, %%ss\n"
        "2: nop\n"
        "nop\n"
        "dec %%rcx\n"
        "jnz 1b\n"
        "3: cli\n"
        : "+c"(n), [lo] "=m"(timer_run.lo), [after] "=m"(timer_run.forbidden),
          [hi] "=m"(timer_run.hi)
        :
        : "rax", "rdx", "memory", "cc");
  }
  apic::timer_stop();
  const TimerRun& t = timer_run;
  if (t.at_forbidden == 0 && t.in_range < kMovSsMinHits) {
    // Nothing wrong was seen, but too little to judge: the host gave the
    // guest too few timer interrupts.
    report_skip("%u x %lu MOV SS; NOP: only %u interrupts landed in the loop (at least %u "
                "needed to judge; none was right after a MOV SS)",
                rounds, kMovSsIterations, t.in_range, kMovSsMinHits);
    return;
  }
  report(t.in_range >= kMovSsMinHits && t.at_forbidden == 0,
         "%u x %lu MOV SS; NOP under a periodic timer: %u interrupts in the loop, %u of them "
         "right after a MOV SS (at least %u needed, none allowed)",
         rounds, kMovSsIterations, t.in_range, t.at_forbidden, kMovSsMinHits);
}

void interrupt_shadows() {
  sti_shadow();
  ReportPrefix p("MOV SS shadow");
  mov_ss_single_step();
  mov_ss_interrupts();
}

// ---- CPL3 to CPL0: RSP0 ----

uint64_t user_rsp;           // written at CPL3 (the image is user-accessible then)
unsigned user_timer_hits;    // the CPL3 side polls it
constexpr uint64_t kUserSpinLimit = 500'000'000;

bool cpl3_timer_handler(ExceptionFrame* f) {
  apic::eoi();
  // Counted only inside the CPL3 loop, once it has stored its RSP: a tick
  // in run_user's way to or from the loop would see another RSP.
  if ((f->regs.cs & desc::kSelectorRplMask) == 3 && __atomic_load_n(&user_rsp, __ATOMIC_ACQUIRE) != 0) {
    record(f);
    __atomic_store_n(&user_timer_hits, 1, __ATOMIC_RELEASE);
  } else {
    // Before or after the CPL3 loop: try again.
    apic::timer_oneshot(kTimerVector, timer_count_for_ns(kCpl3TimerNs), apic::Divide::by1);
  }
  return true;
}

void report_cpl3_frame(const char* what, uint64_t want_top, bool ok) {
  ReportPrefix p(what);
  report(ok && seen_count() == 1 && seen.top == want_top,
         "delivered once on the RSP0 stack (frame from 0x%lx, RSP0 aligned 0x%lx)", seen.top,
         want_top);
  report(ok && seen.ss_in_handler == 0, "SS in the handler is the null selector (0x%x)",
         seen.ss_in_handler);
  report(ok && seen.ss == desc::kUserDs && seen.rsp == user_rsp && seen.cs == desc::kUserCs,
         "the frame holds the user SS:RSP 0x%lx:0x%lx (0x%x:0x%lx) and CS 0x%lx", seen.ss,
         seen.rsp, desc::kUserDs, user_rsp, seen.cs);
}

void rsp0_switching() {
  ReportPrefix p("CPL3");
  alignas(16) static uint8_t rsp0_stack[desc::kIstStackSize];
  // 8 bytes off alignment, which the CPU aligns.
  const uint64_t rsp0 = reinterpret_cast<uint64_t>(rsp0_stack + sizeof(rsp0_stack)) - 8;
  ScopedTssStack slot(kRsp0, rsp0);
  {
    ScopedHandler h(kSoftVector, record_and_return);
    ScopedGateDpl dpl(kSoftVector, 3);
    reset_seen();
    UserResult u = run_user([] {
      asm volatile("mov %%rsp, %0\n int %1" : "=m"(user_rsp) : "i"(kSoftVector) : "memory");
    });
    report_fault(u.ex, ExInfo(), "INT 0x60 at CPL3 returns");
    report_cpl3_frame("INT n", align_down(rsp0), u.ok());
  }
  {
    ScopedHandler h(kUd, record_and_skip_ud2);
    reset_seen();
    UserResult u = run_user([] {
      asm volatile("mov %%rsp, %0\n ud2" : "=m"(user_rsp) : : "memory");
    });
    report_fault(u.ex, ExInfo(), "UD2 at CPL3 resumes after the handler");
    report_cpl3_frame("#UD", align_down(rsp0), u.ok());
  }
  {
    ScopedFlags flags;
    ScopedHandler h(kTimerVector, cpl3_timer_handler);
    ScopedTimerStop stop;
    reset_seen();
    user_timer_hits = 0;
    user_rsp = 0;
    apic::timer_oneshot(kTimerVector, timer_count_for_ns(kCpl3TimerNs), apic::Divide::by1);
    // run_user hands IF=1 on to CPL3.
    cpu::sti();
    UserResult u = run_user([]() -> uint64_t {
      for (uint64_t i = 0; i < kUserSpinLimit; ++i) {
        asm volatile("mov %%rsp, %0" : "=m"(user_rsp) : : "memory");
        if (__atomic_load_n(&user_timer_hits, __ATOMIC_ACQUIRE)) return 1;
        asm volatile("pause");
      }
      return 0;
    });
    cpu::cli();
    report_fault(u.ex, ExInfo(), "APIC timer at CPL3: the user code resumes");
    report(u.ok() && u.value == 1, "the timer interrupted CPL3");
    report_cpl3_frame("timer", align_down(rsp0), u.ok() && u.value == 1);
  }
}

// ---- IRET to CPL3 with bad selectors ----

// IRETQ at CPL0 to `cs`:label, `ss`:RSP; comes back with the fault. Should
// the IRET succeed, the CPL3 fetch from the supervisor-only image faults
// and comes back instead.
ExInfo iret_to(uint16_t cs, uint16_t ss) {
  const uint64_t cs64 = cs, ss64 = ss;
  return catch_fault([cs64, ss64] {
    asm volatile(
        "mov %%rsp, %%rax\n"
        "pushq %[ss]\n"
        "pushq %%rax\n"
        "pushfq\n"
        "pushq %[cs]\n"
        "lea 1f(%%rip), %%rax\n"
        "pushq %%rax\n"
        "iretq\n"
        "1:\n"
        :
        : [ss] "r"(ss64), [cs] "r"(cs64)
        : "rax", "memory");
  });
}

void iret_checks() {
  ReportPrefix p("IRET to CPL3");
  using desc::selector_error_code;
  constexpr uint16_t kRpl3 = 3;
  const uint16_t ucs = desc::kUserCs, uds = desc::kUserDs;
  ScopedTestDescriptor np_cs(0, (desc::kDescCode64 | desc::kDescDpl3) & ~desc::kDescPresent);
  ScopedTestDescriptor np_ss(1, (desc::kDescFlatData | desc::kDescDpl3) & ~desc::kDescPresent);
  desc::DescriptorPointer gdtr;
  asm volatile("sgdt %0" : "=m"(gdtr));
  const uint16_t beyond = static_cast<uint16_t>(((gdtr.limit + 1u) & ~7u) | kRpl3);

  struct Case {
    const char* what;
    uint16_t cs, ss;
    ExInfo want;
  };
  const Case cases[] = {
      {"null CS", 0, uds, ExInfo(Vec::GP, 0)},
      {"null CS with RPL 3", kRpl3, uds, ExInfo(Vec::GP, 0)},
      {"CS beyond the GDT limit", beyond, uds, ExInfo(Vec::GP, selector_error_code(beyond))},
      {"CS a data segment", uds, uds, ExInfo(Vec::GP, selector_error_code(uds))},
      {"CS RPL 1, DPL 3", static_cast<uint16_t>((ucs & ~kRpl3) | 1),
       static_cast<uint16_t>((uds & ~kRpl3) | 1), ExInfo(Vec::GP, selector_error_code(ucs))},
      {"CS RPL 0, DPL 3", static_cast<uint16_t>(ucs & ~kRpl3), uds,
       ExInfo(Vec::GP, selector_error_code(ucs))},
      {"CS not present", static_cast<uint16_t>(np_cs.selector() | kRpl3), uds,
       ExInfo(Vec::NP, selector_error_code(np_cs.selector()))},
      {"SS RPL 0 with CS RPL 3", ucs, static_cast<uint16_t>(uds & ~kRpl3),
       ExInfo(Vec::GP, selector_error_code(uds))},
      {"null SS with RPL 3", ucs, kRpl3, ExInfo(Vec::GP, 0)},
      {"SS DPL 0", ucs, static_cast<uint16_t>(desc::kKernelDs | kRpl3),
       ExInfo(Vec::GP, selector_error_code(desc::kKernelDs))},
      {"SS a code segment", ucs, ucs, ExInfo(Vec::GP, selector_error_code(ucs))},
  };
  for (const Case& c : cases) {
    char what[96];
    rt::snprintf(what, sizeof(what), "%s (CS 0x%x, SS 0x%x)", c.what, c.cs, c.ss);
    report_fault(iret_to(c.cs, c.ss), c.want, what);
  }
  {
    const uint16_t ss = static_cast<uint16_t>(np_ss.selector() | kRpl3);
    char what[96];
    rt::snprintf(what, sizeof(what), "SS not present (CS 0x%x, SS 0x%x)", ucs, ss);
    report_fault_xfail(known_tcg_difference("IRET to an outer level with a not-present SS "
                                            "raises #NP(SS), not #SS(SS)"),
                       iret_to(ucs, ss), ExInfo(Vec::SS, selector_error_code(np_ss.selector())),
                       what);
  }
}

// ---- REP string instructions under interrupts ----

constexpr uint64_t kRepBytes = 2ull << 20;
constexpr uint64_t kGuard = kPageSize;
constexpr uint8_t kGuardByte = 0x5c;
constexpr uint64_t kRepMinPeriodNs = 5'000;
constexpr unsigned kRepPeriodsWanted = 16;
constexpr unsigned kRepAttempts = 8;

struct RepResult {
  uint64_t rcx, rsi, rdi, rflags;
};

enum class RepOp { stosb, movsq, stosq_down };

const char* rep_op_name(RepOp op) {
  switch (op) {
    case RepOp::stosb: return "REP STOSB";
    case RepOp::movsq: return "REP MOVSQ";
    case RepOp::stosq_down: return "STD; REP STOSQ";
  }
  return "?";
}

constexpr uint8_t kStosByte = 0xa5;
constexpr uint64_t kStosQword = 0x0123456789abcdefull;

uint64_t pattern(uint64_t i) { return i * 0x9e3779b97f4a7c15ull + 1; }

// Runs the REP at `dst` (and from `src`); notes the REP's RIP for the handler.
RepResult run_rep(RepOp op, uint8_t* dst, const uint8_t* src) {
  RepResult r{};
  uint64_t rcx, rsi = reinterpret_cast<uint64_t>(src), rdi = reinterpret_cast<uint64_t>(dst);
  switch (op) {
    case RepOp::stosb:
      rcx = kRepBytes;
      asm volatile(
          "lea 1f(%%rip), %%rdx\n"
          "mov %%rdx, %[rip]\n"
          "1: rep stosb\n"
          "pushfq\n"
          "pop %[fl]\n"
          : "+c"(rcx), "+D"(rdi), [rip] "=m"(timer_run.rep_rip), [fl] "=r"(r.rflags)
          : "a"(kStosByte)
          : "rdx", "memory");
      break;
    case RepOp::movsq:
      rcx = kRepBytes / 8;
      asm volatile(
          "lea 1f(%%rip), %%rdx\n"
          "mov %%rdx, %[rip]\n"
          "1: rep movsq\n"
          "pushfq\n"
          "pop %[fl]\n"
          : "+c"(rcx), "+S"(rsi), "+D"(rdi), [rip] "=m"(timer_run.rep_rip), [fl] "=r"(r.rflags)
          :
          : "rdx", "memory");
      break;
    case RepOp::stosq_down:
      rcx = kRepBytes / 8;
      rdi += kRepBytes - 8;
      asm volatile(
          "lea 1f(%%rip), %%rdx\n"
          "mov %%rdx, %[rip]\n"
          "std\n"
          "1: rep stosq\n"
          "pushfq\n"
          "pop %[fl]\n"
          "cld\n"
          : "+c"(rcx), "+D"(rdi), [rip] "=m"(timer_run.rep_rip), [fl] "=r"(r.rflags)
          : "a"(kStosQword)
          : "rdx", "memory");
      break;
  }
  r.rcx = rcx;
  r.rsi = rsi;
  r.rdi = rdi;
  return r;
}

// Fills the region with guard bytes, and the source with its pattern.
void rep_prepare(RepOp op, uint8_t* region, uint8_t* src) {
  for (uint64_t i = 0; i < kRepBytes + 2 * kGuard; ++i) region[i] = kGuardByte;
  if (op == RepOp::movsq) {
    uint64_t* s = reinterpret_cast<uint64_t*>(src);
    for (uint64_t i = 0; i < kRepBytes / 8; ++i) s[i] = pattern(i);
  }
}

// The first offset where the destination differs from what the op should
// have written, or kRepBytes; guard bytes around it must be untouched.
uint64_t rep_first_wrong(RepOp op, const uint8_t* dst) {
  for (uint64_t i = 0; i < kRepBytes; i += 8) {
    const uint64_t got = *reinterpret_cast<const uint64_t*>(dst + i);
    uint64_t want = 0;
    switch (op) {
      case RepOp::stosb: want = 0x0101010101010101ull * kStosByte; break;
      case RepOp::movsq: want = pattern(i / 8); break;
      case RepOp::stosq_down: want = kStosQword; break;
    }
    if (got != want) return i;
  }
  return kRepBytes;
}

bool guards_intact(const uint8_t* region) {
  for (uint64_t i = 0; i < kGuard; ++i)
    if (region[i] != kGuardByte || region[kGuard + kRepBytes + i] != kGuardByte) return false;
  return true;
}

void rep_case(RepOp op, uint8_t* region, uint8_t* src) {
  ReportPrefix p(rep_op_name(op));
  uint8_t* dst = region + kGuard;
  ScopedFlags flags;

  // Once without interrupts, to time it.
  rep_prepare(op, region, src);
  cpu::cli();
  const uint64_t t0 = timer::now_ns();
  run_rep(op, dst, src);
  const uint64_t quiet_ns = timer::now_ns() - t0;
  uint64_t period = quiet_ns / kRepPeriodsWanted;
  if (period < kRepMinPeriodNs) period = kRepMinPeriodNs;

  const uint64_t d = reinterpret_cast<uint64_t>(dst);
  const uint64_t want_rdi = op == RepOp::stosq_down ? d - 8 : d + kRepBytes;
  const uint64_t want_rsi = op == RepOp::movsq ? reinterpret_cast<uint64_t>(src) + kRepBytes : 0;
  // The timer is the host's: on a busy host it may fall behind, so the
  // run is repeated (each one checked in full) until an interrupt has
  // landed inside the REP, or a wrong result ends the attempts.
  RepResult r{};
  uint64_t wrong = kRepBytes;
  bool intact = true;
  unsigned mid = 0, hits = 0, attempts = 0;
  while (attempts < kRepAttempts && mid == 0) {
    ++attempts;
    rep_prepare(op, region, src);
    {
      ScopedHandler h(kTimerVector, timer_handler);
      ScopedTimerStop stop;
      timer_run = TimerRun{};
      apic::timer_periodic(kTimerVector, timer_count_for_ns(period), apic::Divide::by1);
      cpu::sti();
      r = run_rep(op, dst, src);
      cpu::cli();
    }
    mid += timer_run.mid_rep;
    hits += timer_run.hits;
    wrong = rep_first_wrong(op, dst);
    intact = guards_intact(region);
    const bool right = r.rcx == 0 && r.rdi == want_rdi && (op != RepOp::movsq || r.rsi == want_rsi) &&
                       (op != RepOp::stosq_down || (r.rflags & rflags::kDirection)) &&
                       wrong == kRepBytes && intact;
    if (!right) break;
  }
  report(r.rcx == 0, "RCX is 0 at the end (0x%lx)", r.rcx);
  report(r.rdi == want_rdi, "RDI ends at 0x%lx (0x%lx)", want_rdi, r.rdi);
  if (op == RepOp::movsq) report(r.rsi == want_rsi, "RSI ends at 0x%lx (0x%lx)", want_rsi, r.rsi);
  if (op == RepOp::stosq_down)
    report(r.rflags & rflags::kDirection, "DF is still set after the interrupts");
  report(wrong == kRepBytes && intact,
         "all 0x%lx bytes written right (first wrong at 0x%lx), nothing outside", kRepBytes,
         wrong);
  report(mid >= 1,
         "interrupted in the middle %u times (%u timer interrupts in %u run(s), period %lu ns, "
         "%lu us without interrupts)",
         mid, hits, attempts, period, quiet_ns / 1000);
}

void rep_strings() {
  ReportPrefix p("REP");
  const uint64_t region_pages = (kRepBytes + 2 * kGuard) / kPageSize;
  const uint64_t src_pages = kRepBytes / kPageSize;
  mem::PageResult region = mem::alloc_pages(region_pages);
  mem::PageResult src = mem::alloc_pages(src_pages);
  if (!region.ok() || !src.ok()) {
    report_skip("no memory for the buffers");
  } else {
    uint8_t* r = reinterpret_cast<uint8_t*>(region.pa.value);
    uint8_t* s = reinterpret_cast<uint8_t*>(src.pa.value);
    rep_case(RepOp::stosb, r, s);
    rep_case(RepOp::movsq, r, s);
    rep_case(RepOp::stosq_down, r, s);
  }
  if (region.ok() && mem::free_pages(region.pa, region_pages) != mem::AllocError::none)
    report_abort("freeing the REP buffer failed");
  if (src.ok() && mem::free_pages(src.pa, src_pages) != mem::AllocError::none)
    report_abort("freeing the REP source failed");
}

}  // namespace

int main() {
  if (smp_id() != 0) report_abort("main must run on the BSP");
  apic_timer_hz = measure_timer_hz();
  if (apic_timer_hz == 0) report_abort("cannot measure the APIC timer");
  report_info("APIC timer at %lu kHz", apic_timer_hz / 1000);
  ist_switching();
  double_faults();
  nmi_blocking();
  interrupt_shadows();
  rsp0_switching();
  iret_checks();
  rep_strings();
  return report_summary();
}
