// smp: every CPU the MADT lists comes up under EFI and does what it is told.
//
// The CPU count comes from the MADT (not fw_cfg, so it means the same on
// bare metal); with `cpus=N` the test also insists on exactly N. Each CPU
// then runs a function through on_cpu and proves it is itself: its index,
// its APIC ID (against CPUID), its own GS base and TSS. IPIs are checked
// where they land: a fixed-vector IPI to one CPU runs its handler on that
// CPU only, NMIs likewise, all-but-self reaches everyone but the sender,
// self-IPIs come back to their sender, and an AP can interrupt another AP.
// on_cpus runs everywhere once, on_cpu_async returns before the work is
// done, a spinlock holds under contention from every CPU, fault catching
// works per CPU, and reports from several CPUs at once are all counted.
#include <cstdint>

#include "acpi/platform.h"
#include "apic/apic.h"
#include "cpu/desc.h"
#include "cpu/exceptions.h"
#include "mem/paging.h"
#include "cpu/processor.h"
#include "cpu/spinlock.h"
#include "rt/report.h"
#include "rt/string.h"
#include "smp/percpu.h"
#include "mem/memory.h"
#include "smp/smp.h"
#include "timer/clock.h"

namespace {

constexpr uint8_t kTestVector = 0x60;
constexpr uint64_t kDeliveryTimeoutNs = 1'000'000'000;
constexpr unsigned kMax = desc::kMaxCpus;

uint32_t load(const uint32_t& v) { return __atomic_load_n(&v, __ATOMIC_ACQUIRE); }
void bump(uint32_t& v) { __atomic_fetch_add(&v, 1, __ATOMIC_ACQ_REL); }

unsigned madt_enabled_cpus() {
  const acpi::MadtInfo* m = acpi::madt();
  if (!m) return 0;
  unsigned n = 0;
  for (size_t i = 0; i < m->cpu_count; ++i) n += m->cpus[i].enabled;
  return n;
}

// Initial APIC ID from CPUID: leaf 0BH EDX (x2APIC ID, all 32 bits) when
// present, else leaf 1 EBX[31:24] (Intel SDM vol.2A, CPUID).
uint32_t cpuid_apic_id() {
  if (cpu::cpuid(0).eax >= 0xb && cpu::cpuid(0xb).ebx != 0) return cpu::cpuid(0xb).edx;
  return cpu::cpuid(1).ebx >> 24;
}

struct Identity {
  uint32_t ran;
  unsigned id;
  uint32_t apic_id, cpuid_id;
  uint64_t gs_base;
  uint16_t tr;
  bool if_clear;
};
Identity who[kMax];

void record_identity(void*) {
  Identity& w = who[smp_id()];
  w.id = smp_id();
  w.apic_id = apic::id();
  w.cpuid_id = cpuid_apic_id();
  w.gs_base = cpu::rdmsr(cpu::kMsrGsBase);
  asm volatile("str %0" : "=r"(w.tr));
  w.if_clear = !(cpu::read_rflags() & rflags::kInterrupt);
  bump(w.ran);
}

void identities() {
  ReportPrefix p("identity");
  for (unsigned c = 0; c < cpu_count(); ++c) on_cpu(c, record_identity, nullptr);
  for (unsigned c = 0; c < cpu_count(); ++c) {
    const Identity& w = who[c];
    report(w.ran == 1 && w.id == c, "CPU %u ran on_cpu once, as itself (ran %u, id %u)", c, w.ran,
           w.id);
    report(w.apic_id == smp::apic_id_of(c) && w.apic_id == w.cpuid_id,
           "CPU %u: APIC ID %u, expected %u, CPUID says %u", c, w.apic_id, smp::apic_id_of(c),
           w.cpuid_id);
    report(w.tr == desc::tss_selector(c), "CPU %u: TR 0x%x is its own TSS (0x%x)", c, w.tr,
           desc::tss_selector(c));
    report(w.if_clear, "CPU %u: on_cpu runs with interrupts disabled", c);
    bool distinct = w.gs_base != 0;
    for (unsigned o = 0; o < c; ++o) distinct = distinct && who[o].gs_base != w.gs_base;
    report(distinct, "CPU %u: GS base 0x%lx is its own", c, w.gs_base);
  }
}

// Interrupt and NMI hits, per receiving CPU.
uint32_t irq_hits[kMax];
uint32_t nmi_hits[kMax];

bool on_test_vector(ExceptionFrame*) {
  bump(irq_hits[smp_id()]);
  apic::eoi();
  return true;
}

bool on_nmi(ExceptionFrame*) {
  bump(nmi_hits[smp_id()]);
  return true;
}

void clear(uint32_t* hits) {
  for (unsigned c = 0; c < kMax; ++c) __atomic_store_n(&hits[c], 0, __ATOMIC_RELEASE);
}

bool wait_hits(const uint32_t* hits, unsigned cpu, uint32_t want) {
  return timer::wait_until([&] { return load(hits[cpu]) >= want; }, kDeliveryTimeoutNs);
}

// Every CPU but `except` has `want` hits, `except` has `other`.
bool only(const uint32_t* hits, unsigned target, uint32_t want, uint32_t other) {
  bool ok = true;
  for (unsigned c = 0; c < cpu_count(); ++c) ok = ok && load(hits[c]) == (c == target ? want : other);
  return ok;
}

void fixed_ipis() {
  ReportPrefix p("fixed IPI");
  for (unsigned c = 1; c < cpu_count(); ++c) {
    clear(irq_hits);
    apic::send_fixed(smp::apic_id_of(c), kTestVector);
    wait_hits(irq_hits, c, 1);
    // Give a misrouted copy time to land somewhere else.
    timer::mdelay(2);
    report(only(irq_hits, c, 1, 0), "vector 0x%x to CPU %u handled there, once, and nowhere else",
           kTestVector, c);
  }
}

void nmi_ipis() {
  ReportPrefix p("NMI IPI");
  for (unsigned c = 1; c < cpu_count(); ++c) {
    clear(nmi_hits);
    apic::send_nmi(smp::apic_id_of(c));
    wait_hits(nmi_hits, c, 1);
    timer::mdelay(2);
    report(only(nmi_hits, c, 1, 0), "NMI to CPU %u handled there, once, and nowhere else", c);
  }
}

void broadcast_ipi() {
  ReportPrefix p("all-but-self IPI");
  clear(irq_hits);
  apic::send_all_but_self(kTestVector);
  for (unsigned c = 1; c < cpu_count(); ++c) wait_hits(irq_hits, c, 1);
  timer::mdelay(2);
  report(only(irq_hits, 0, 0, 1), "every other CPU took vector 0x%x once, the sender none",
         kTestVector);
}

void self_ipi_here(void*) {
  apic::send_self(kTestVector);
  // The IPI is pending in IRR until interrupts are enabled.
  asm volatile("sti; nop; nop; cli" ::: "memory");
}

void self_ipis() {
  ReportPrefix p("self IPI");
  for (unsigned c = 0; c < cpu_count(); ++c) {
    clear(irq_hits);
    on_cpu(c, self_ipi_here, nullptr);
    wait_hits(irq_hits, c, 1);
    report(only(irq_hits, c, 1, 0), "CPU %u interrupted itself, and nobody else", c);
  }
}

void ipi_to_cpu2(void*) { apic::send_fixed(smp::apic_id_of(2), kTestVector); }

void ap_to_ap() {
  ReportPrefix p("AP to AP");
  if (cpu_count() < 3) {
    report_skip("needs 3 CPUs, have %u", cpu_count());
    return;
  }
  clear(irq_hits);
  on_cpu(1, ipi_to_cpu2, nullptr);
  wait_hits(irq_hits, 2, 1);
  timer::mdelay(2);
  report(only(irq_hits, 2, 1, 0), "CPU 1 sent vector 0x%x to CPU 2, which took it", kTestVector);
}

uint32_t visits[kMax];
void visit(void*) { bump(visits[smp_id()]); }

void everyone() {
  ReportPrefix p("on_cpus");
  clear(visits);
  on_cpus(visit, nullptr);
  bool once = true;
  for (unsigned c = 0; c < cpu_count(); ++c) once = once && load(visits[c]) == 1;
  report(once, "ran once on each of %u CPUs, caller included, before returning", cpu_count());
}

uint32_t gate, async_done[kMax];
void wait_for_gate(void*) {
  while (!load(gate)) cpu::pause();
  bump(async_done[smp_id()]);
}

void async_calls() {
  ReportPrefix p("on_cpu_async");
  if (cpu_count() < 2) {
    report_skip("needs 2 CPUs");
    return;
  }
  clear(async_done);
  __atomic_store_n(&gate, 0, __ATOMIC_RELEASE);
  for (unsigned c = 1; c < cpu_count(); ++c) on_cpu_async(c, wait_for_gate, nullptr);
  bool none_yet = true;
  for (unsigned c = 1; c < cpu_count(); ++c) none_yet = none_yet && load(async_done[c]) == 0;
  report(none_yet, "returns while the work is still blocked");
  __atomic_store_n(&gate, 1, __ATOMIC_RELEASE);
  for (unsigned c = 1; c < cpu_count(); ++c) smp::wait_idle(c);
  bool all = true;
  for (unsigned c = 1; c < cpu_count(); ++c) all = all && load(async_done[c]) == 1;
  report(all, "wait_idle returns once each CPU finished");
}

constexpr unsigned kRounds = 2000;
SpinLock counter_lock;
uint64_t counter;  // deliberately a plain read-modify-write under the lock

void contend(void*) {
  for (unsigned i = 0; i < kRounds; ++i) {
    SpinGuard g(counter_lock);
    const uint64_t v = *static_cast<volatile uint64_t*>(&counter);
    *static_cast<volatile uint64_t*>(&counter) = v + 1;
  }
}

void locking() {
  ReportPrefix p("spinlock");
  counter = 0;
  on_cpus(contend, nullptr);
  report(counter == uint64_t(kRounds) * cpu_count(), "%u CPUs x %u increments: %lu",
         cpu_count(), kRounds, counter);
}

ExInfo caught[kMax];
void catch_ud(void*) { caught[smp_id()] = catch_fault([] { asm volatile("ud2"); }); }

void fault_catching() {
  ReportPrefix p("catch_fault");
  on_cpus(catch_ud, nullptr);
  for (unsigned c = 0; c < cpu_count(); ++c) {
    char b[32];
    report(caught[c] == ExInfo(Vec::UD), "CPU %u caught its own #UD: %s", c,
           exinfo_str(caught[c], b, sizeof(b)));
  }
}

void report_here(void*) { report_pass("reported from CPU %u", smp_id()); }

void concurrent_reports() {
  ReportPrefix p("reports");
  const unsigned before = report_counts().tests;
  on_cpus(report_here, nullptr);
  const unsigned after = report_counts().tests;
  report(after - before == cpu_count(), "%u CPUs reported at once, %u counted", cpu_count(),
         after - before);
}

// Prefixes are per CPU: an on_cpu call starts from its caller's prefix,
// and what it pushes shows on its own lines only, not on the caller's,
// even while both CPUs are inside their scopes at once.
struct PrefixProbe {
  char seen_start[64];
  char seen_inside[64];
  bool pushed;
  bool release;
};

void copy_prefix(char* dst, unsigned n) {
  const char* p = report_prefix();
  unsigned i = 0;
  for (; p[i] && i + 1 < n; ++i) dst[i] = p[i];
  dst[i] = 0;
}

void hold_prefix(PrefixProbe* pp) {
  copy_prefix(pp->seen_start, sizeof(pp->seen_start));
  ReportPrefix p("ap");
  copy_prefix(pp->seen_inside, sizeof(pp->seen_inside));
  __atomic_store_n(&pp->pushed, true, __ATOMIC_RELEASE);
  // The caller looks at its own prefix now; bounded, so that a caller that
  // never releases does not hang this CPU.
  timer::wait_until([&] { return __atomic_load_n(&pp->release, __ATOMIC_ACQUIRE); }, 5'000'000'000);
}

void per_cpu_prefixes() {
  if (cpu_count() < 2) {
    report_skip("per-CPU report prefixes: only one CPU");
    return;
  }
  ReportPrefix p("prefixes");
  PrefixProbe pp = {};
  on_cpu_async(1, [](void* a) { hold_prefix(static_cast<PrefixProbe*>(a)); }, &pp);
  const bool pushed = timer::wait_until([&] { return __atomic_load_n(&pp.pushed, __ATOMIC_ACQUIRE); },
                                        5'000'000'000);
  char mine[64];
  copy_prefix(mine, sizeof(mine));
  __atomic_store_n(&pp.release, true, __ATOMIC_RELEASE);
  smp::wait_idle(1);
  report(pushed, "CPU 1 pushed a prefix of its own");
  report(!strcmp(pp.seen_start, "prefixes: "), "the call starts from the caller's prefix ('%s')",
         pp.seen_start);
  report(!strcmp(pp.seen_inside, "prefixes: ap: "), "CPU 1's push shows on CPU 1 ('%s')", pp.seen_inside);
  report(!strcmp(mine, "prefixes: "), "and not on CPU 0, while CPU 1 still holds it ('%s')", mine);
}

// TLB shootdown (mem/paging.h): a PTE that one CPU retargets and flushes
// is seen retargeted by another CPU in its next call, though that CPU's
// TLB held the old translation; and the other way round, by the caller
// once on_cpu returns. Without the shootdown each CPU may keep reading
// the old frame (SDM vol.3 §4.10.5: a CPU's INVLPG affects its own TLB).
constexpr uint64_t kShootdownVa = 0x00005b0000000000ull;
constexpr uint64_t kFrameA = 0x0a0a'5400'0000'000aull, kFrameB = 0x0b0b'5400'0000'000bull;

struct TlbProbe {
  uint64_t read;
  PhysAddr retarget;  // when set, the call retargets the PTE to this frame
};

void retarget_pte(PhysAddr frame) {
  paging::Translation t;
  if (!paging::lookup(VirtAddr(kShootdownVa), &t)) report_abort("shootdown page not mapped");
  *t.entry = (*t.entry & ~paging::pte::kFrame) | frame.value;
  paging::flush(VirtAddr(kShootdownVa), kPageSize);
}

void tlb_probe(TlbProbe* tp) {
  if (tp->retarget.value) retarget_pte(tp->retarget);
  tp->read = *reinterpret_cast<volatile uint64_t*>(kShootdownVa);
}

void tlb_shootdown() {
  if (cpu_count() < 2) {
    report_skip("TLB shootdown: only one CPU");
    return;
  }
  ReportPrefix p("shootdown");
  mem::PageResult a = mem::alloc_pages(1), b = mem::alloc_pages(1);
  if (!a.ok() || !b.ok()) report_abort("no pages for the shootdown check");
  *reinterpret_cast<volatile uint64_t*>(a.pa.value) = kFrameA;
  *reinterpret_cast<volatile uint64_t*>(b.pa.value) = kFrameB;
  {
    paging::SavedRange saved(VirtAddr(kShootdownVa), kPageSize);
    if (paging::map(VirtAddr(kShootdownVa), a.pa, kPageSize, paging::Attr::data()) != paging::MapStatus::ok)
      report_abort("mapping the shootdown page failed");
    auto call = [](void* arg) { tlb_probe(static_cast<TlbProbe*>(arg)); };
    TlbProbe tp = {};
    on_cpu(1, call, &tp);
    report(tp.read == kFrameA, "CPU 1 reads the first frame (0x%lx)", tp.read);
    retarget_pte(b.pa);
    on_cpu(1, call, &tp);
    report(tp.read == kFrameB, "CPU 0 retargets the page: CPU 1's next call reads the new frame (0x%lx)",
           tp.read);
    const uint64_t here = *reinterpret_cast<volatile uint64_t*>(kShootdownVa);
    tp.retarget = a.pa;
    on_cpu(1, call, &tp);
    const uint64_t after = *reinterpret_cast<volatile uint64_t*>(kShootdownVa);
    report(here == kFrameB && after == kFrameA,
           "CPU 1 retargets it back: CPU 0 reads the first frame once on_cpu returns (0x%lx, then 0x%lx)",
           here, after);
    saved.restore();
  }
  mem::free_pages(a.pa, 1);
  mem::free_pages(b.pa, 1);
}

unsigned expected_cpus(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (!strncmp(argv[i], "cpus=", 5)) return static_cast<unsigned>(strtoul(argv[i] + 5, nullptr, 0));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const unsigned madt = madt_enabled_cpus();
  report_info("MADT lists %u enabled CPUs; %u online", madt, cpu_count());
  report(madt != 0, "the MADT lists CPUs");
  report(cpu_count() == madt, "every enabled CPU came up (%u of %u)", cpu_count(), madt);
  if (unsigned want = expected_cpus(argc, argv))
    report(cpu_count() == want, "%u CPUs online, %u requested", cpu_count(), want);
  report(smp_id() == 0 && smp::this_cpu()->id == 0, "main() runs on CPU 0");

  ScopedHandler irq(kTestVector, on_test_vector);
  ScopedHandler nmi(static_cast<unsigned>(Vec::NMI), on_nmi);

  identities();
  everyone();
  async_calls();
  if (cpu_count() < 2) {
    report_skip("IPIs between CPUs: only one CPU");
  } else {
    fixed_ipis();
    nmi_ipis();
    broadcast_ipi();
    ap_to_ap();
  }
  self_ipis();
  locking();
  fault_catching();
  concurrent_reports();
  per_cpu_prefixes();
  tlb_shootdown();
  return report_summary();
}
