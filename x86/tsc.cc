// tsc: the time-stamp counter as each CPU and all CPUs together see it.
//
// - Monotonic on every CPU: many back-to-back RDTSCs never go backwards
//   (SDM vol.3 §18.17: the counter only counts up, and with an invariant
//   TSC, CPUID.80000007H:EDX[8], at a constant rate).
// - Synchronised across CPUs: in a ping-pong where one CPU reads its TSC,
//   publishes it, and the other reads its own only after it has seen the
//   value, the second reading may not be below the first by more than the
//   tolerance (1 µs at the calibrated rate). A preempted vCPU only makes
//   the second reading later, never earlier, so a step back is a real
//   fault of the TSC offsets the hypervisor keeps per vCPU. Run with -smp 2
//   and -smp 4, every CPU against CPU 0.
// - TSC_AUX: RDTSCP returns IA32_TSC_AUX in ECX (CPUID.80000001H:EDX[27])
//   and RDPID returns it (CPUID.(EAX=7,ECX=0):ECX[22]), each CPU its own
//   value; each raises #UD where CPUID does not enumerate it (SDM vol.2B
//   "RDTSCP", "RDPID").
// - Writing IA32_TIME_STAMP_COUNTER (MSR 0x10) moves what RDTSC reads
//   (SDM vol.3 §18.17), and IA32_TSC_ADJUST (MSR 0x3B,
//   CPUID.(EAX=7,ECX=0):EBX[1]) follows: a write that moves the TSC by X
//   adds X to TSC_ADJUST, and a write of TSC_ADJUST that adds Y moves the
//   TSC by Y (SDM vol.3 §18.17.3).
// The writes come last, each on CPU 0 only, and are undone through the
// same delta rules, so that the calibration the runtime made stays valid.
#include <cstdint>

#include "cpu/exceptions.h"
#include "cpu/processor.h"
#include "rt/expect.h"
#include "rt/report.h"
#include "smp/smp.h"
#include "timer/clock.h"

namespace {

using cpu::feature::kRdpid;
using cpu::feature::kRdtscp;
using cpu::feature::kTscAdjust;

constexpr unsigned kMonotonicReads = 200'000;
constexpr unsigned kPingPongRounds = 500;
constexpr uint64_t kAnswerTimeoutNs = 2'000'000'000;
constexpr uint32_t kAuxBase = 0x5a00;

// --- monotonic on each CPU -------------------------------------------------------

struct Monotonic {
  uint64_t backwards[256];
  uint64_t worst[256];
};

void count_backwards(Monotonic* m) {
  const unsigned me = smp_id();
  uint64_t prev = cpu::rdtsc(), back = 0, worst = 0;
  for (unsigned i = 0; i < kMonotonicReads; ++i) {
    const uint64_t t = cpu::rdtsc();
    if (t < prev) {
      ++back;
      if (prev - t > worst) worst = prev - t;
    }
    prev = t;
  }
  m->backwards[me] = back;
  m->worst[me] = worst;
}

void monotonic_per_cpu() {
  ReportPrefix p("monotonic");
  static Monotonic m;
  on_cpus([](void* a) { count_backwards(static_cast<Monotonic*>(a)); }, &m);
  for (unsigned c = 0; c < cpu_count(); ++c)
    report(m.backwards[c] == 0, "CPU %u: %u reads, %lu went backwards (by up to %lu)", c,
           kMonotonicReads, m.backwards[c], m.worst[c]);
}

// --- across CPUs -------------------------------------------------------------------

// One CPU stamps, the other answers once it has seen the stamp; both check
// the other's reading against their own. turn: 1 = the AP's move.
struct PingPong {
  uint64_t stamp;
  uint32_t turn;
  uint64_t tolerance;
  uint64_t ap_behind, bsp_behind;  // the worst step back each side saw
  unsigned rounds_done;
  bool ap_timed_out;
};

uint64_t behind(uint64_t mine, uint64_t theirs) { return theirs > mine ? theirs - mine : 0; }

void pong(PingPong* pp) {
  for (unsigned r = 0; r < kPingPongRounds; ++r) {
    if (!timer::wait_until([&] { return __atomic_load_n(&pp->turn, __ATOMIC_ACQUIRE) == 1; },
                           kAnswerTimeoutNs)) {
      pp->ap_timed_out = true;
      return;
    }
    const uint64_t theirs = __atomic_load_n(&pp->stamp, __ATOMIC_RELAXED);
    const uint64_t mine = cpu::rdtsc();
    const uint64_t b = behind(mine, theirs);
    if (b > pp->ap_behind) pp->ap_behind = b;
    __atomic_store_n(&pp->stamp, cpu::rdtsc(), __ATOMIC_RELAXED);
    __atomic_store_n(&pp->turn, 0u, __ATOMIC_RELEASE);
  }
}

void across_cpus() {
  ReportPrefix p("across CPUs");
  if (cpu_count() < 2) {
    report_skip("only one CPU");
    return;
  }
  const uint64_t tolerance = timer::ns_to_tsc(1000);
  report_info("tolerance %lu TSC cycles (1 us at %lu Hz)", tolerance, timer::tsc_hz());
  for (unsigned c = 1; c < cpu_count(); ++c) {
    PingPong pp = {};
    pp.tolerance = tolerance;
    on_cpu_async(c, [](void* a) { pong(static_cast<PingPong*>(a)); }, &pp);
    bool answered = true;
    for (unsigned r = 0; r < kPingPongRounds; ++r) {
      __atomic_store_n(&pp.stamp, cpu::rdtsc(), __ATOMIC_RELAXED);
      __atomic_store_n(&pp.turn, 1u, __ATOMIC_RELEASE);
      if (!timer::wait_until([&] { return __atomic_load_n(&pp.turn, __ATOMIC_ACQUIRE) == 0; },
                             kAnswerTimeoutNs)) {
        answered = false;
        break;
      }
      const uint64_t theirs = __atomic_load_n(&pp.stamp, __ATOMIC_RELAXED);
      const uint64_t b = behind(cpu::rdtsc(), theirs);
      if (b > pp.bsp_behind) pp.bsp_behind = b;
      ++pp.rounds_done;
    }
    smp::wait_idle(c);
    report(answered && !pp.ap_timed_out, "CPU %u answered all %u rounds (%u done)", c, kPingPongRounds,
           pp.rounds_done);
    report(pp.ap_behind <= tolerance, "CPU %u never read a TSC behind CPU 0's stamp (worst %lu cycles)", c,
           pp.ap_behind);
    report(pp.bsp_behind <= tolerance, "CPU 0 never read a TSC behind CPU %u's stamp (worst %lu cycles)", c,
           pp.bsp_behind);
  }
}

// --- TSC_AUX -----------------------------------------------------------------------

struct AuxSeen {
  uint32_t rdtscp[256];
  uint64_t rdpid[256];
  uint64_t saved[256];
};

void aux_on_this_cpu(AuxSeen* s) {
  const unsigned me = smp_id();
  s->saved[me] = cpu::rdmsr(cpu::kMsrTscAux);
  cpu::wrmsr(cpu::kMsrTscAux, kAuxBase + me);
  if (cpu::has(kRdtscp)) (void)cpu::rdtscp(&s->rdtscp[me]);
  if (cpu::has(kRdpid)) s->rdpid[me] = cpu::rdpid();
  cpu::wrmsr(cpu::kMsrTscAux, s->saved[me]);
}

void tsc_aux() {
  ReportPrefix p("TSC_AUX");
  const bool have_rdtscp = cpu::has(kRdtscp), have_rdpid = cpu::has(kRdpid);
  if (!have_rdtscp) {
    report_skip("RDTSCP: %s clear", kRdtscp.name);
    report_fault(catch_fault([] {
                   uint32_t aux;
                   (void)cpu::rdtscp(&aux);
                 }),
                 ExInfo(Vec::UD), "RDTSCP without the CPUID bit");
  }
  if (!have_rdpid) {
    report_skip("RDPID: %s clear", kRdpid.name);
    report_fault(catch_fault([] { (void)cpu::rdpid(); }), ExInfo(Vec::UD), "RDPID without the CPUID bit");
  }
  if (!have_rdtscp && !have_rdpid) return;
  static AuxSeen seen;
  on_cpus([](void* a) { aux_on_this_cpu(static_cast<AuxSeen*>(a)); }, &seen);
  for (unsigned c = 0; c < cpu_count(); ++c) {
    if (have_rdtscp)
      report(seen.rdtscp[c] == kAuxBase + c, "CPU %u: RDTSCP returns its TSC_AUX 0x%x (got 0x%x)", c,
             kAuxBase + c, seen.rdtscp[c]);
    if (have_rdpid)
      report(seen.rdpid[c] == kAuxBase + c, "CPU %u: RDPID returns its TSC_AUX 0x%x (got 0x%lx)", c,
             kAuxBase + c, seen.rdpid[c]);
  }
}

// --- writes --------------------------------------------------------------------------

// The TSC moved to `target` by a write: RDTSC right after reads at least
// target, and not more than a second of cycles past it.
bool moved_to(uint64_t got, uint64_t target) {
  const uint64_t second = timer::tsc_hz() ? timer::tsc_hz() : (1ull << 32);
  return got >= target && got - target < second;
}

void tsc_writes() {
  ReportPrefix p("writes");
  const bool tcg = known_tcg_difference("QEMU's TCG has no IA32_TIME_STAMP_COUNTER: RDMSR 0x10 "
                                        "reads 0 and a WRMSR is ignored");
  const bool adjust = cpu::has(kTscAdjust);
  const uint64_t adj0 = adjust ? cpu::rdmsr(cpu::kMsrTscAdjust) : 0;
  const uint64_t shift = 1ull << 40;

  const uint64_t before = cpu::rdtsc();
  const uint64_t forward = before + shift;
  ExInfo w = wrmsr_safe(cpu::kMsrTsc, forward);
  const uint64_t after = cpu::rdtsc();
  report(!w.faulted(), "WRMSR of IA32_TIME_STAMP_COUNTER does not fault");
  report_xfail(tcg, moved_to(after, forward), "a write moves RDTSC forward (wrote 0x%lx, read 0x%lx)",
               forward, after);
  uint64_t adj1 = 0;
  if (adjust) {
    adj1 = cpu::rdmsr(cpu::kMsrTscAdjust);
    // The write moved the TSC by (forward - the TSC at that moment), which
    // is shift less the few cycles between the two reads.
    const uint64_t delta = adj1 - adj0;
    report_xfail(tcg, delta <= shift && shift - delta < timer::ns_to_tsc(1'000'000),
                 "TSC_ADJUST followed the write: +0x%lx (the write moved the TSC by about 0x%lx)", delta,
                 shift);
  }
  // Back: a write to now minus the shift undoes it up to a few cycles.
  const uint64_t back = cpu::rdtsc() - shift;
  (void)wrmsr_safe(cpu::kMsrTsc, back);
  const uint64_t after_back = cpu::rdtsc();
  report_xfail(tcg, moved_to(after_back, back), "a smaller value moves it back (wrote 0x%lx, read 0x%lx)",
               back, after_back);

  if (!adjust) {
    report_skip("TSC_ADJUST: %s clear", kTscAdjust.name);
    return;
  }
  // A write of TSC_ADJUST by +Y moves the TSC by +Y.
  const uint64_t adj2 = cpu::rdmsr(cpu::kMsrTscAdjust);
  const uint64_t t0 = cpu::rdtsc();
  (void)wrmsr_safe(cpu::kMsrTscAdjust, adj2 + shift);
  const uint64_t t1 = cpu::rdtsc();
  report_xfail(tcg, moved_to(t1, t0 + shift), "TSC_ADJUST += 0x%lx moves the TSC with it (0x%lx -> 0x%lx)",
               shift, t0, t1);
  // Undo everything through TSC_ADJUST: its original value gives the
  // original TSC back exactly, whatever the writes above did.
  (void)wrmsr_safe(cpu::kMsrTscAdjust, adj0);
  report(cpu::rdmsr(cpu::kMsrTscAdjust) == adj0, "TSC_ADJUST restored to 0x%lx", adj0);
}

}  // namespace

int main() {
  report_info("%u CPUs; TSC %lu Hz from %s; invariant TSC %s", cpu_count(), timer::tsc_hz(),
              timer::tsc_source_str(timer::tsc_source()), timer::invariant_tsc() ? "yes" : "no");
  monotonic_per_cpu();
  across_cpus();
  tsc_aux();
  tsc_writes();
  return report_summary();
}
